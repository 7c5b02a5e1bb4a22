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

export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new FlowmeshError('payload_too_large', `request body is larger than ${maxSize} bytes`);
    },
  });
}
