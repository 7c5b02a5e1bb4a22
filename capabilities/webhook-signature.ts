// Webhook signatures, as Stripe does them: `Flowmesh-Signature: t=<unix seconds>,v1=<hex>` where the
// hex is HMAC-SHA256(secret, `${t}.${body}`). The timestamp inside the signed text stops replays.

export const SIGNATURE_HEADER = 'flowmesh-signature';
/** Receivers should refuse signatures older than this. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

async function hmacHex(secret: string, text: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, enc.encode(text)));
  let out = '';
  for (const b of mac) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The header value for `body` sent at `at`. */
export async function signWebhook(secret: string, body: string, at: Date): Promise<string> {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${await hmacHex(secret, `${t}.${body}`)}`;
}

function equalHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export type SignatureCheck = { valid: true } | { valid: false; reason: string };

/** What a receiver does: recompute the HMAC over `t.body` and compare, and refuse stale timestamps. */
export async function verifyWebhook(
  secret: string,
  header: string | null | undefined,
  body: string,
  now: Date,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Promise<SignatureCheck> {
  if (!header) return { valid: false, reason: 'no signature header' };
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const signatures = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v as string);
  if (!Number.isInteger(t) || signatures.length === 0)
    return { valid: false, reason: 'malformed signature header' };
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds)
    return { valid: false, reason: 'timestamp outside tolerance' };
  const expected = await hmacHex(secret, `${t}.${body}`);
  return signatures.some((s) => equalHex(s, expected))
    ? { valid: true }
    : { valid: false, reason: 'signature mismatch' };
}
