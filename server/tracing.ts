// HTTP server spans for API calls: continue the caller's `traceparent`, name the span by route. Nothing
// in a request nests under its server span, so it is recorded when the response is ready, as a
// finished span (telemetry/finished-spans.ts), with the request's start and end times.
import { type Attributes, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { SpanEmitter } from '../telemetry/finished-spans.js';
import { parseTraceparent } from '../work/ids.js';
import type { AppEnv } from './context.js';

const nowMs = () => performance.timeOrigin + performance.now();

export function traceRequests(spans: SpanEmitter | undefined): MiddlewareHandler<AppEnv> {
  return async function serverSpan(c, next) {
    if (!spans) return next();
    const startMs = nowMs();
    try {
      await next();
    } finally {
      const endMs = nowMs();
      const method = c.req.method;
      const path = c.req.path;
      const route = routePath(c, -1);
      const named = route !== '' && route !== '*' && route !== '/*';
      const status = c.res.status;
      const incoming = c.req.header('traceparent');
      const parent = incoming ? parseTraceparent(incoming) : undefined;
      const requestId = c.get('requestId');
      const attributes: Attributes = {
        'http.request.method': method,
        'url.path': path,
        'url.scheme': c.req.url.startsWith('https:') ? 'https' : 'http',
        'http.response.status_code': status,
      };
      // Added when present rather than spread in: spreading conditional objects cost several times more.
      if (named) attributes['http.route'] = route;
      if (requestId) attributes['flowmesh.request.id'] = requestId;
      spans.emit({
        name: `${method} ${named ? route : path}`,
        kind: SpanKind.SERVER,
        traceId: parent?.traceId ?? spans.newTraceId(),
        spanId: spans.newSpanId(),
        parent: parent ? { spanId: parent.spanId, sampled: parent.sampled } : undefined,
        startMs,
        endMs,
        attributes,
        status: status >= 500 ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET },
      });
    }
  };
}
