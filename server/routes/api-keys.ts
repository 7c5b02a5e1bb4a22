// /v1/api-keys: admins create keys (the secret is shown once) and revoke them.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import { NodeIdSchema } from '../../capabilities/network-schema.js';
import { FlowmeshError } from '../../work/errors.js';
import { text } from '../../work/json.js';
import { ROLES } from '../../work/principal.js';
import { type Authenticator, requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec } from '../schemas.js';

const CreateApiKeyBody = z
  .strictObject({
    name: text(1, 200),
    role: z.enum(ROLES),
    nodeId: NodeIdSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.role === 'agent' && !v.nodeId)
      ctx.addIssue({
        code: 'custom',
        path: ['nodeId'],
        message: 'agent keys must name the node they act for',
      });
    if (v.role !== 'agent' && v.nodeId)
      ctx.addIssue({ code: 'custom', path: ['nodeId'], message: 'only agent keys are bound to a node' });
  })
  .openapi('CreateApiKey', { example: { name: 'refund agent', role: 'agent', nodeId: 'refund-agent' } });

const CreatedApiKeyView = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    nodeId: z.string().nullable(),
    prefix: z.string(),
    createdAt: z.string(),
    key: z.string().openapi({ description: 'The secret. It is shown only in this response.' }),
  })
  .openapi('CreatedApiKey');

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/api-keys',
  tags: ['access'],
  summary: 'Create an API key (admin)',
  middleware: [requireRole()] as const,
  request: { body: { required: true, content: { 'application/json': { schema: CreateApiKeyBody } } } },
  responses: {
    201: {
      description: 'The new key, with its secret',
      content: { 'application/json': { schema: CreatedApiKeyView } },
    },
    ...commonErrors,
  },
});

const revokeRouteDef = createRoute({
  method: 'delete',
  path: '/v1/api-keys/{id}',
  tags: ['access'],
  summary: 'Revoke an API key (admin)',
  middleware: [requireRole()] as const,
  request: { params: IdParam },
  responses: {
    204: { description: 'Revoked' },
    404: problemResponseSpec('No such live key'),
    ...commonErrors,
  },
});

export function registerApiKeyRoutes(app: OpenAPIHono<AppEnv>, core: Core, auth: Authenticator): void {
  app.openapi(createRouteDef, async (c) => {
    const body = c.req.valid('json');
    // The live registry: nodes created through PUT /v1/nodes get agent keys too.
    if (body.nodeId && !core.router.registry.node(body.nodeId)) {
      throw new FlowmeshError('invalid', `unknown node ${body.nodeId}`, {
        errors: [{ path: 'nodeId', message: `unknown node ${body.nodeId}` }],
      });
    }
    return c.json(await auth.create(body), 201);
  });
  app.openapi(revokeRouteDef, async (c) => {
    const id = c.req.valid('param').id;
    if (!(await auth.revoke(id)))
      throw new FlowmeshError('not_found', `API key ${id} does not exist or is already revoked`);
    return c.body(null, 204);
  });
}
