// /v1/nodes and /v1/capabilities: the network registry over HTTP. Operators and admins manage nodes;
// every key may read them.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import {
  deleteNode,
  getNode,
  listCapabilities,
  listNodes,
  putNode,
  setAvailability,
} from '../../capabilities/network.js';
import { AVAILABILITIES, NodeIdSchema, NodeSchema } from '../../capabilities/network-schema.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, problemResponseSpec } from '../schemas.js';
import { validationError } from '../validation.js';

export const NodeIdParam = z.object({
  id: NodeIdSchema.clone().openapi({ param: { name: 'id', in: 'path' }, example: 'refund-agent' }),
});

const NodeView = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    capabilities: z.array(z.object({ capability: z.string(), proficiency: z.number() })),
    capacity: z.int(),
    mode: z.string(),
    availability: z.string(),
    endpoint: z.string().optional(),
    timeoutSeconds: z.int(),
    attributes: z.record(z.string(), z.unknown()),
    wip: z.int().openapi({ description: 'Steps the node holds now' }),
    queueDepth: z.int().openapi({ description: 'Queued steps the node may claim now' }),
    health: z.object({ state: z.enum(['ok', 'circuit_open']), trippedUntil: z.string().nullable() }),
  })
  .openapi('Node');

const CapabilityView = z
  .object({
    id: z.string(),
    description: z.string(),
    maxAttempts: z.int(),
    leaseSeconds: z.int(),
    fallbacks: z.array(z.object({ afterSeconds: z.int(), nodes: z.array(z.string()) })),
    queueDepth: z.int(),
    unroutable: z.int(),
    oldestWaitSeconds: z.number().nullable(),
    eligibleNodes: z.array(z.string()),
  })
  .openapi('Capability');

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });

const listRoute = createRoute({
  method: 'get',
  path: '/v1/nodes',
  tags: ['network'],
  summary: 'List nodes with live WIP, eligible queue depth and health',
  responses: {
    200: { description: 'Nodes', ...json(z.object({ nodes: z.array(NodeView) })) },
    ...commonErrors,
  },
});

const getRouteDef = createRoute({
  method: 'get',
  path: '/v1/nodes/{id}',
  tags: ['network'],
  summary: 'Read a node',
  request: { params: NodeIdParam },
  responses: {
    200: { description: 'The node', ...json(NodeView) },
    404: problemResponseSpec('No such node'),
    ...commonErrors,
  },
});

const putRouteDef = createRoute({
  method: 'put',
  path: '/v1/nodes/{id}',
  tags: ['network'],
  summary: 'Create or replace a node (operator); its queued work is re-routed',
  middleware: [requireRole('operator')] as const,
  request: {
    params: NodeIdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.record(z.string(), z.unknown()).openapi({
            description: 'A node as in the network file (the id comes from the path)',
            example: {
              name: 'Refund assessment agent',
              kind: 'ai_agent',
              capacity: 10,
              capabilities: [{ capability: 'refund.assess', proficiency: 0.8 }],
            },
          }),
        },
      },
    },
  },
  responses: {
    200: { description: 'Replaced', ...json(NodeView) },
    201: { description: 'Created', ...json(NodeView) },
    ...commonErrors,
  },
});

const deleteRouteDef = createRoute({
  method: 'delete',
  path: '/v1/nodes/{id}',
  tags: ['network'],
  summary: 'Delete a node (operator); the steps it holds return to their queues',
  middleware: [requireRole('operator')] as const,
  request: { params: NodeIdParam },
  responses: { 204: { description: 'Deleted' }, 404: problemResponseSpec('No such node'), ...commonErrors },
});

const availabilityRoute = createRoute({
  method: 'post',
  path: '/v1/nodes/{id}/availability',
  tags: ['network'],
  summary: 'Set a node available, away or draining (operator)',
  description:
    '`draining` nodes finish what they hold and get nothing new; `away` nodes are skipped by routing.',
  middleware: [requireRole('operator')] as const,
  request: {
    params: NodeIdParam,
    body: { required: true, ...json(z.strictObject({ availability: z.enum(AVAILABILITIES) })) },
  },
  responses: {
    200: { description: 'The node', ...json(NodeView) },
    404: problemResponseSpec('No such node'),
    ...commonErrors,
  },
});

const capabilitiesRoute = createRoute({
  method: 'get',
  path: '/v1/capabilities',
  tags: ['network'],
  summary: 'List capabilities with queue depth, oldest wait and eligible nodes',
  responses: {
    200: { description: 'Capabilities', ...json(z.object({ capabilities: z.array(CapabilityView) })) },
    ...commonErrors,
  },
});

export function registerNodeRoutes(app: OpenAPIHono<AppEnv>, core: Core): void {
  app.openapi(listRoute, async (c) => c.json({ nodes: await listNodes(core) } as never, 200));
  app.openapi(getRouteDef, async (c) => c.json((await getNode(core, c.req.valid('param').id)) as never, 200));
  app.openapi(putRouteDef, async (c) => {
    const id = c.req.valid('param').id;
    const body = c.req.valid('json');
    const parsed = NodeSchema.safeParse({ ...body, id: body.id ?? id });
    if (!parsed.success) throw validationError(parsed.error, 'json');
    if (parsed.data.id !== id) {
      throw validationError(
        new z.ZodError([
          { code: 'custom', path: ['id'], message: `must match the path (${id})`, input: body.id },
        ]),
        'json',
      );
    }
    const out = await putNode(core, c.get('principal'), parsed.data);
    return c.json(out.node as never, out.created ? 201 : 200);
  });
  app.openapi(deleteRouteDef, async (c) => {
    await deleteNode(core, c.get('principal'), c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(availabilityRoute, async (c) => {
    const node = await setAvailability(
      core,
      c.get('principal'),
      c.req.valid('param').id,
      c.req.valid('json').availability,
    );
    return c.json(node as never, 200);
  });
  app.openapi(capabilitiesRoute, async (c) =>
    c.json({ capabilities: await listCapabilities(core) } as never, 200),
  );
}
