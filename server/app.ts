// The hono app: middleware, routes, OpenAPI document, and the single error handler.
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { Core } from '../capabilities/core.js';
import type { EventFeed } from '../capabilities/event-feed.js';
import type { Telemetry } from '../telemetry/setup.js';
import { FlowmeshError, isFlowmeshError } from '../work/errors.js';
import { type Authenticator, authMiddleware } from './auth.js';
import type { AppEnv } from './context.js';
import { type DocsAssets, registerDocs } from './docs.js';
import { registerMcpEndpoint } from './mcp/endpoint.js';
import { limitBody, requestId, requireJsonBody } from './middleware.js';
import { problemResponse } from './problem.js';
import { registerApiKeyRoutes } from './routes/api-keys.js';
import { registerClaimRoutes } from './routes/claims.js';
import { registerEscalationRoutes } from './routes/escalations.js';
import { registerEventRoutes } from './routes/events.js';
import { registerNodeRoutes } from './routes/nodes.js';
import { type PolicyRoutesDeps, registerPolicyRoutes } from './routes/policies.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerTelemetryRoutes } from './routes/telemetry.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerWorkItemRoutes } from './routes/work-items.js';
import { traceRequests } from './tracing.js';
import { validationError } from './validation.js';

export interface AppOptions {
  core: Core;
  /** Tracing, the span store and flow metrics behind /v1/traces, /v1/value-streams, /metrics. */
  telemetry?: Telemetry | undefined;
  auth: Authenticator;
  bodyLimit: number;
  docsAssets?: DocsAssets | undefined;
  version?: string;
  /** Browser origins allowed to call /mcp (DNS-rebinding protection). */
  allowedOrigins?: readonly string[] | undefined;
  /** The live event feed behind GET /v1/events (the runtime owns and closes it). */
  eventFeed?: EventFeed | undefined;
  /** The running policy set behind /v1/policies. */
  policies?: PolicyRoutesDeps | undefined;
}

export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const { core, auth } = options;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });

  app.use('*', requestId());
  // Edge spans (HTTP, MCP tool calls) only when something receives them: the span store keeps hops only.
  const edgeTracer =
    options.telemetry && !options.telemetry.config.disabled && options.telemetry.exportsSpans
      ? options.telemetry.tracer
      : undefined;
  app.use('*', traceRequests(edgeTracer ? options.telemetry?.spans : undefined));
  app.use('*', limitBody(options.bodyLimit, { streamed: ['/mcp', '/v1/traces'] }));
  app.use('*', requireJsonBody({ except: ['/v1/traces'] }));
  app.use('/v1/*', authMiddleware(auth));

  registerSystemRoutes(app, core);
  registerWorkItemRoutes(app, core);
  if (options.telemetry)
    registerTelemetryRoutes(app, core, options.telemetry, { bodyLimit: options.bodyLimit });
  registerApiKeyRoutes(app, core, auth);
  registerEscalationRoutes(app, core);
  registerWebhookRoutes(app, core);
  registerNodeRoutes(app, core);
  registerClaimRoutes(app, core);
  if (options.eventFeed) registerEventRoutes(app, options.eventFeed);
  if (options.policies) registerPolicyRoutes(app, options.policies);
  registerMcpEndpoint(app, {
    core,
    auth,
    allowedOrigins: options.allowedOrigins ?? [],
    bodyLimit: options.bodyLimit,
    version: options.version,
    // Tool calls are spans on the runtime's own tracer, beside the hop spans.
    tracer: edgeTracer,
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer fm_…`',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'flowmesh',
      version: options.version ?? '0.1.0',
      description: 'Routes work through a capability network of human teams, automations and AI agents.',
    },
    security: [{ apiKey: [] }],
  });
  registerDocs(app, options.docsAssets);

  app.notFound((c) =>
    problemResponse(
      c,
      new FlowmeshError('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
    ),
  );
  app.onError((error, c) => {
    if (isFlowmeshError(error)) {
      if (error.code === 'internal')
        core.logger.error('internal error', { error: String(error.cause ?? error) });
      return problemResponse(c, error);
    }
    if (error instanceof HTTPException) {
      // hono raises these for malformed JSON bodies and similar request-level faults.
      const status = error.status;
      const code =
        status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
      const detail = /json/i.test(error.message)
        ? `request body is not valid JSON: ${error.message}`
        : error.message;
      return problemResponse(c, new FlowmeshError(code, detail));
    }
    core.logger.error('unhandled error', {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      path: new URL(c.req.url).pathname,
    });
    return problemResponse(
      c,
      new FlowmeshError('internal', 'an unexpected error occurred; it has been logged with this request id', {
        cause: error,
      }),
    );
  });
  return app;
}
