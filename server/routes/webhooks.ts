// /v1/webhooks (admin): subscribe a URL to events, list, delete, and read a webhook's delivery log.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import {
  createWebhook,
  deleteWebhook,
  listWebhookDeliveries,
  listWebhooks,
} from '../../capabilities/webhooks.js';
import { EVENT_TYPE_PATTERN } from '../../work/event-filter.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec } from '../schemas.js';

const WebhookView = z
  .object({ id: z.string(), url: z.string(), events: z.array(z.string()), createdAt: z.string() })
  .openapi('Webhook');

const CreatedWebhookView = WebhookView.extend({
  secret: z.string().openapi({ description: 'The signing secret; shown only in this response' }),
}).openapi('CreatedWebhook');

const CreateWebhookBody = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .max(2000)
      .openapi({ example: 'https://ops.example.com/flowmesh' }),
    events: z
      .array(z.string().regex(EVENT_TYPE_PATTERN, 'must be an event type, a family like escalation.*, or *'))
      .min(1, 'name at least one event type, or * for every event')
      .max(50)
      .openapi({ example: ['escalation.*', 'work_item.done'] }),
  })
  .openapi('CreateWebhook');

const AttemptView = z.object({
  attempt: z.int(),
  at: z.string(),
  status: z.int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
});

const DeliveryView = z
  .object({
    id: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    state: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.int(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    log: z.array(AttemptView),
  })
  .openapi('WebhookDelivery');

const createWebhookRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks',
  tags: ['webhooks'],
  summary: 'Subscribe a URL to events',
  description:
    'Events from now on are POSTed to `url` as JSON (the same object as a `/v1/events` message), signed in ' +
    '`Flowmesh-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`. ' +
    'A delivery that does not get a 2xx is retried with exponential backoff (30 s, doubling, up to 8 attempts).',
  middleware: [requireRole()] as const,
  request: { body: { required: true, content: { 'application/json': { schema: CreateWebhookBody } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: CreatedWebhookView } } },
    ...commonErrors,
  },
});

const listWebhooksRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks',
  tags: ['webhooks'],
  summary: 'List webhooks',
  middleware: [requireRole()] as const,
  responses: {
    200: {
      description: 'Webhooks',
      content: { 'application/json': { schema: z.object({ webhooks: z.array(WebhookView) }) } },
    },
    ...commonErrors,
  },
});

const deleteWebhookRoute = createRoute({
  method: 'delete',
  path: '/v1/webhooks/{id}',
  tags: ['webhooks'],
  summary: 'Delete a webhook and its delivery log',
  middleware: [requireRole()] as const,
  request: { params: IdParam },
  responses: {
    204: { description: 'Deleted' },
    404: problemResponseSpec('No such webhook'),
    ...commonErrors,
  },
});

const deliveriesRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks/{id}/deliveries',
  tags: ['webhooks'],
  summary: "A webhook's delivery log, newest event first, with every attempt",
  middleware: [requireRole()] as const,
  request: {
    params: IdParam,
    query: z.object({
      state: z.enum(['pending', 'succeeded', 'failed']).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: {
      description: 'Deliveries',
      content: { 'application/json': { schema: z.object({ deliveries: z.array(DeliveryView) }) } },
    },
    404: problemResponseSpec('No such webhook'),
    ...commonErrors,
  },
});

export function registerWebhookRoutes(app: OpenAPIHono<AppEnv>, core: Core): void {
  app.openapi(createWebhookRoute, async (c) => {
    const created = await createWebhook(core, c.get('principal'), c.req.valid('json'));
    c.header('location', `/v1/webhooks/${created.id}`);
    return c.json(created, 201);
  });
  app.openapi(listWebhooksRoute, async (c) => c.json({ webhooks: await listWebhooks(core) }, 200));
  app.openapi(deleteWebhookRoute, async (c) => {
    await deleteWebhook(core, c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(deliveriesRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(
      {
        deliveries: await listWebhookDeliveries(core, c.req.valid('param').id, {
          state: q.state,
          limit: q.limit,
        }),
      },
      200,
    );
  });
}
