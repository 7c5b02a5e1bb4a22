// Cross-cutting middleware: request ids, JSON-only bodies, body size limit.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { FlowmeshError } from '../work/errors.js';
import { uuidv7 } from '../work/ids.js';
import type { AppEnv } from './context.js';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Uses the caller's X-Request-Id when it is sane, otherwise makes one; echoes it back. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function assignRequestId(c, next) {
    const given = c.req.header('x-request-id');
    const id = given && REQUEST_ID_RE.test(given) ? given : uuidv7();
    c.set('requestId', id);
    c.header('x-request-id', id);
    await next();
  };
}

/** Requests that carry a body must say it is JSON; others get 415 naming what they sent. */
export function requireJsonBody(options: { except?: readonly string[] } = {}): MiddlewareHandler<AppEnv> {
  const except = new Set(options.except ?? []);
  return async function checkContentType(c, next) {
    const method = c.req.method;
    // Routes in `except` take other media types (OTLP protobuf) and check Content-Type themselves.
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !except.has(c.req.path)) {
      const length = c.req.header('content-length');
      const type = c.req.header('content-type');
      const hasBody =
        type !== undefined ||
        (length !== undefined && length !== '0') ||
        c.req.header('transfer-encoding') !== undefined;
      if (hasBody && !/^application\/(?:[\w.+-]+\+)?json\s*(;|$)/i.test(type ?? '')) {
        throw new FlowmeshError(
          'unsupported_media_type',
          `request bodies must be JSON (Content-Type: application/json); got ${type ?? 'no Content-Type'}`,
        );
      }
    }
    await next();
  };
}

/** What @hono/node-server passes as the env: the Node request (absent on other runtimes and in app.request). */
interface NodeIncoming {
  headers: Record<string, string | string[] | undefined>;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Reads a Node request body up to `maxSize` bytes; undefined when it is larger. Past the limit the rest
 * is read and dropped rather than the socket destroyed, so the client still gets its 413.
 */
function readIncoming(incoming: NodeIncoming, maxSize: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let over = false;
    incoming.on('data', (chunk) => {
      if (over) return;
      size += chunk.byteLength;
      if (size > maxSize) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    incoming.on('error', reject);
    incoming.on('end', () => {
      if (over) return;
      if (chunks.length === 1) return resolve(chunks[0]);
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      resolve(bytes);
    });
  });
}

/**
 * Refuses bodies over `maxSize` bytes with 413. On Node the body is read straight from the request
 * stream and handed to hono's body cache, so the JSON validators parse it without a web `Request` and
 * its streams per call (the web path cost about a fifth of a submit's CPU). Paths in `streamed` (MCP,
 * OTLP) read `c.req.raw` themselves and keep the web path, as do other runtimes and app.request.
 */
export function limitBody(
  maxSize: number,
  options: { streamed?: readonly string[] } = {},
): MiddlewareHandler<AppEnv> {
  const tooLarge = (): never => {
    throw new FlowmeshError('payload_too_large', `request body is larger than ${maxSize} bytes`);
  };
  const web = bodyLimit({ maxSize, onError: tooLarge });
  const streamed = new Set(options.streamed ?? []);
  return async function readLimitedBody(c, next) {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
    if (!incoming || streamed.has(c.req.path)) return web(c, next);
    const declared = incoming.headers['content-length'];
    if (typeof declared === 'string' && Number(declared) > maxSize) tooLarge();
    const bytes = await readIncoming(incoming, maxSize);
    if (!bytes) return tooLarge();
    // The decoder drops a byte-order mark and replaces bad sequences, as Request.text() does.
    // hono keeps the promise of each body form in bodyCache (its type says the method).
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(utf8.decode(bytes));
    await next();
  };
}
