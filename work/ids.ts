// Identifiers: UUIDv7 (time-ordered, so keyset pagination and index inserts stay cheap) and W3C trace ids.
// Uses the Web Crypto API that Node.js and Workers both provide.

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Random bytes are drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per ~200 ids
// instead of one per id, which shows on the submit path. Each byte is handed out once.
const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let poolOffset = 0;

/** Where `n` fresh random bytes start in `pool` (refilled first when fewer than `n` are left). */
function take(n: number): number {
  if (poolOffset + n > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

function randomBytes(n: number): Uint8Array {
  if (n > POOL_SIZE) return globalThis.crypto.getRandomValues(new Uint8Array(n));
  const at = take(n);
  return pool.slice(at, at + n);
}

/** `n` random bytes as hex, read straight from the pool. */
function randomHex(n: number): string {
  const at = take(n);
  let out = '';
  for (let i = at; i < at + n; i++) out += hex[pool[i] ?? 0];
  return out;
}

let lastMs = 0;
let seq = 0;

/**
 * A UUIDv7 (RFC 9562) whose first 48 bits are the millisecond time; monotonic within a process. Built
 * from the pool and a few string pieces, without BigInt: ids are made many times per request.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  // One byte seeds the counter, eight make the random tail (the first of them carries the variant).
  const at = take(9);
  if (nowMs <= lastMs) {
    // Same or earlier millisecond: keep ordering by counting in the 12-bit rand_a field.
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1;
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    seq = ((pool[at] ?? 0) & 0x0f) << 8;
  }
  // 48 bits of milliseconds as six bytes: the top 24 bits and the bottom 24 bits, each an exact integer.
  const high = Math.floor(nowMs / 0x1000000);
  const low = nowMs % 0x1000000;
  const time =
    `${hex[(high >>> 16) & 0xff]}${hex[(high >>> 8) & 0xff]}${hex[high & 0xff]}${hex[low >>> 16]}-` +
    `${hex[(low >>> 8) & 0xff]}${hex[low & 0xff]}`;
  const version = `${hex[0x70 | (seq >>> 8)]}${hex[seq & 0xff]}`;
  const variant = `${hex[((pool[at + 1] ?? 0) & 0x3f) | 0x80]}${hex[pool[at + 2] ?? 0]}`;
  let tail = '';
  for (let i = at + 3; i < at + 9; i++) tail += hex[pool[i] ?? 0];
  return `${time}-${version}-${variant}-${tail}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** 16 random bytes as 32 lower-case hex digits, never all zero. */
export function newTraceId(): string {
  const id = randomHex(16);
  return /^0+$/.test(id) ? newTraceId() : id;
}

/** 8 random bytes as 16 lower-case hex digits, never all zero. */
export function newSpanId(): string {
  const id = randomHex(8);
  return /^0+$/.test(id) ? newSpanId() : id;
}

export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Parses a W3C `traceparent` header (version 00); returns undefined when it is malformed or all-zero. */
export function parseTraceparent(value: string | undefined | null): TraceContext | undefined {
  if (!value) return undefined;
  // Stored and generated traceparents are canonical already: only others are trimmed and lower-cased.
  const m = TRACEPARENT_RE.exec(value) ?? TRACEPARENT_RE.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

/** A random URL-safe secret of `bytes` bytes (base64url, no padding). */
export function randomToken(bytes = 24): string {
  let s = '';
  for (const b of randomBytes(bytes)) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}
