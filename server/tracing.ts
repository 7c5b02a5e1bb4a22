// HTTP server spans for API calls: continue the caller's `traceparent`, name the span by route.
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { parentContext } from '../telemetry/hops.js';
import type { AppEnv } from './context.js';

export function traceRequests(tracer: Tracer | undefined): MiddlewareHandler<AppEnv> {
  return async function serverSpan(c, next) {
    if (!tracer) return next();
    const path = c.req.path;
    const incoming = c.req.header('traceparent');
    const span = tracer.startSpan(
      `${c.req.method} ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': c.req.method,
          'url.path': path,
          'url.scheme': c.req.url.startsWith('https:') ? 'https' : 'http',
        },
      },
      incoming ? parentContext(incoming) : undefined,
    );
    try {
      await next();
    } finally {
      const route = routePath(c, -1);
      if (route && route !== '*' && route !== '/*') {
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      const status = c.res.status;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      const requestId = c.get('requestId');
      if (requestId) span.setAttribute('flowmesh.request.id', requestId);
      span.end();
    }
  };
}
