// /v1/work-items: submit (idempotent), read, list, cancel, and the item's events.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import {
  cancelWorkItem,
  getWorkItem,
  listWorkItemEvents,
  listWorkItemsFor,
  submitWorkItem,
} from '../../capabilities/work-items.js';
import { FlowmeshError } from '../../work/errors.js';
import { text } from '../../work/json.js';
import { KindSchema, WorkItemStateSchema } from '../../work/work-item.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec, SubmitWorkItemBody, WorkItemView } from '../schemas.js';

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

const submitRoute = createRoute({
  method: 'post',
  path: '/v1/work-items',
  tags: ['work items'],
  summary: 'Submit a work item',
  description:
    'Creates a work item and queues its first step. Send `Idempotency-Key` to make retries safe: the same key ' +
    'and body replay the first response (200, `Idempotent-Replayed: true`).',
  middleware: [requireRole('operator', 'submitter', 'agent')] as const,
  request: {
    headers: z.object({
      'idempotency-key': z
        .string()
        .optional()
        .openapi({ description: 'Up to 255 printable ASCII characters' }),
      traceparent: z
        .string()
        .optional()
        .openapi({ description: 'W3C trace context; the item joins this trace' }),
    }),
    body: { required: true, content: { 'application/json': { schema: SubmitWorkItemBody } } },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: WorkItemView } } },
    200: {
      description: 'Replayed from an earlier request with the same Idempotency-Key',
      content: { 'application/json': { schema: WorkItemView } },
    },
    409: problemResponseSpec('A request with the same Idempotency-Key is still in flight'),
    ...commonErrors,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/work-items/{id}',
  tags: ['work items'],
  summary: 'Read a work item with its steps',
  request: { params: IdParam },
  responses: {
    200: { description: 'The work item', content: { 'application/json': { schema: WorkItemView } } },
    404: problemResponseSpec('No such work item'),
    ...commonErrors,
  },
});

const ListQuery = z.object({
  state: WorkItemStateSchema.optional(),
  kind: KindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(64).optional().openapi({ description: 'nextCursor of the previous page' }),
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/work-items',
  tags: ['work items'],
  summary: 'List work items, newest first',
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'A page of work items',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(WorkItemView), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...commonErrors,
  },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/work-items/{id}/cancel',
  tags: ['work items'],
  summary: 'Cancel an open work item and its open steps',
  middleware: [requireRole('operator', 'submitter')] as const,
  request: {
    params: IdParam,
    body: {
      required: false,
      content: { 'application/json': { schema: z.strictObject({ reason: text(1, 1000).optional() }) } },
    },
  },
  responses: {
    200: {
      description: 'The cancelled work item',
      content: { 'application/json': { schema: WorkItemView } },
    },
    404: problemResponseSpec('No such work item'),
    409: problemResponseSpec('The item is no longer open'),
    ...commonErrors,
  },
});

const EventView = z
  .object({
    id: z.string(),
    type: z.string(),
    stepId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    at: z.string(),
  })
  .openapi('Event');

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/work-items/{id}/events',
  tags: ['work items'],
  summary: "The item's event log, oldest first",
  request: {
    params: IdParam,
    query: z.object({
      after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(200),
    }),
  },
  responses: {
    200: {
      description: 'Events',
      content: { 'application/json': { schema: z.object({ events: z.array(EventView) }) } },
    },
    404: problemResponseSpec('No such work item'),
    ...commonErrors,
  },
});

function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(cursor)
    ? cursor
    : undefined;
  if (!id)
    throw new FlowmeshError('bad_request', 'query.cursor is not a cursor this API returned', {
      errors: [{ path: 'query.cursor', message: 'unknown cursor' }],
    });
  return id;
}

export function registerWorkItemRoutes(app: OpenAPIHono<AppEnv>, core: Core): void {
  app.openapi(submitRoute, async (c) => {
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
      throw new FlowmeshError('bad_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters', {
        errors: [{ path: 'header.idempotency-key', message: 'must be 1 to 255 printable ASCII characters' }],
      });
    }
    const outcome = await submitWorkItem(core, c.get('principal'), c.req.valid('json'), {
      idempotencyKey: key,
      traceparent: c.req.header('traceparent'),
    });
    if (outcome.kind === 'replayed') {
      c.header('idempotent-replayed', 'true');
      return c.json(outcome.body as z.infer<typeof WorkItemView>, 200);
    }
    c.header('location', `/v1/work-items/${outcome.item.id}`);
    return c.json(outcome.item, 201);
  });

  app.openapi(getRoute, async (c) =>
    c.json(await getWorkItem(core, c.get('principal'), c.req.valid('param').id), 200),
  );

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await listWorkItemsFor(core, c.get('principal'), {
      state: q.state,
      kind: q.kind,
      limit: q.limit,
      after: decodeCursor(q.cursor),
    });
    return c.json(page, 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const body = (c.req.header('content-type') ? c.req.valid('json') : undefined) ?? {};
    return c.json(await cancelWorkItem(core, c.get('principal'), c.req.valid('param').id, body.reason), 200);
  });

  app.openapi(eventsRoute, async (c) => {
    const q = c.req.valid('query');
    const events = await listWorkItemEvents(core, c.get('principal'), c.req.valid('param').id, {
      afterId: q.after,
      limit: q.limit,
    });
    return c.json({ events: events.map((e) => ({ ...e, at: e.at.toISOString() })) }, 200);
  });
}
