// Claiming and working under a lease: POST /v1/nodes/:id/claims and
// POST /v1/work-items/:id/heartbeat|complete|fail|handoff. Thin: each calls one core function.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { claimSteps } from '../../capabilities/claims.js';
import type { Core } from '../../capabilities/core.js';
import { completeStep, failStep, handoffStep, heartbeatStep } from '../../capabilities/leases.js';
import { JsonValueSchema, text } from '../../work/json.js';
import { CapabilityIdSchema } from '../../work/work-item.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec, StepView, WorkItemView } from '../schemas.js';
import { NodeIdParam } from './nodes.js';

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });

const Lease = z.object({ token: z.string(), expiresAt: z.string() }).openapi('Lease');
const ClaimView = z
  .object({ workItem: z.record(z.string(), z.unknown()), step: StepView, lease: Lease })
  .openapi('Claim');

const ClaimBody = z.strictObject({
  max: z
    .int()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: 'Claim up to this many steps; answers {claims}' }),
  wait: z
    .number()
    .min(0)
    .max(60)
    .optional()
    .openapi({ description: 'Seconds to long-poll for work when there is none' }),
});

const claimRoute = createRoute({
  method: 'post',
  path: '/v1/nodes/{id}/claims',
  tags: ['claims'],
  summary: 'Claim the best steps this node is eligible for',
  description:
    'Priority first, then age (waiting raises priority, so nothing starves), within the node’s free capacity. ' +
    'Without `max`, answers one claim; with `max`, `{claims: [...]}`. 204 when there is no work (after `wait` ' +
    'seconds). Operators and admins may claim for any node (human teams); agent keys only for their own node.',
  middleware: [requireRole('operator', 'agent')] as const,
  request: { params: NodeIdParam, body: { required: false, ...json(ClaimBody) } },
  responses: {
    200: { description: 'Claimed', ...json(z.union([ClaimView, z.object({ claims: z.array(ClaimView) })])) },
    204: { description: 'No work for this node' },
    404: problemResponseSpec('No such node'),
    409: problemResponseSpec('The node is a push node'),
    ...commonErrors,
  },
});

const LeaseFields = {
  stepId: z.uuid('must be a UUID'),
  leaseToken: z.string().min(1).max(200),
};

const lost = problemResponseSpec('The lease is not held by this token (lease_lost)');

function stepAction<T extends z.ZodType>(path: string, summary: string, body: T, response: z.ZodType) {
  return createRoute({
    method: 'post',
    path: `/v1/work-items/{id}/${path}`,
    tags: ['claims'],
    summary,
    middleware: [requireRole('operator', 'agent')] as const,
    request: { params: IdParam, body: { required: true, ...json(body) } },
    responses: {
      200: { description: 'Done', ...json(response) },
      404: problemResponseSpec('No such work item or step'),
      409: lost,
      ...commonErrors,
    },
  });
}

const heartbeatRoute = stepAction(
  'heartbeat',
  'Extend the lease on a claimed step',
  z.strictObject(LeaseFields),
  z.object({ lease: Lease }),
);
const completeRoute = stepAction(
  'complete',
  'Complete a claimed step with its result (push nodes call this back too)',
  z.strictObject({
    ...LeaseFields,
    result: JsonValueSchema.optional(),
    confidence: z.number().min(0).max(1).optional(),
  }),
  z.object({ workItem: WorkItemView, step: StepView }),
);
const failRoute = stepAction(
  'fail',
  'Fail a claimed step; retryable failures return it to the queue while attempts are left',
  z.strictObject({ ...LeaseFields, reason: text(1, 2000), retryable: z.boolean().default(true) }),
  z.object({ workItem: WorkItemView, step: StepView, requeued: z.boolean() }),
);
const handoffRoute = stepAction(
  'handoff',
  'Close the step and route a new one at another capability',
  z.strictObject({ ...LeaseFields, capability: CapabilityIdSchema, reason: text(1, 2000) }),
  z.object({ workItem: WorkItemView, step: StepView, next: StepView }),
);

export function registerClaimRoutes(app: OpenAPIHono<AppEnv>, core: Core): void {
  app.openapi(claimRoute, async (c) => {
    const body = (c.req.header('content-type') ? c.req.valid('json') : undefined) ?? {};
    const claims = await claimSteps(core, c.get('principal'), {
      nodeId: c.req.valid('param').id,
      max: body.max,
      waitSeconds: body.wait,
      signal: c.req.raw.signal,
    });
    if (claims.length === 0) return c.body(null, 204);
    return c.json((body.max === undefined ? claims[0] : { claims }) as never, 200);
  });
  app.openapi(heartbeatRoute, async (c) =>
    c.json(
      (await heartbeatStep(core, c.get('principal'), {
        workItemId: c.req.valid('param').id,
        ...c.req.valid('json'),
      })) as never,
      200,
    ),
  );
  app.openapi(completeRoute, async (c) => {
    const body = c.req.valid('json');
    const out = await completeStep(core, c.get('principal'), {
      workItemId: c.req.valid('param').id,
      stepId: body.stepId,
      leaseToken: body.leaseToken,
      result: body.result ?? null,
      confidence: body.confidence,
    });
    return c.json(out as never, 200);
  });
  app.openapi(failRoute, async (c) =>
    c.json(
      (await failStep(core, c.get('principal'), {
        workItemId: c.req.valid('param').id,
        ...c.req.valid('json'),
      })) as never,
      200,
    ),
  );
  app.openapi(handoffRoute, async (c) =>
    c.json(
      (await handoffStep(core, c.get('principal'), {
        workItemId: c.req.valid('param').id,
        ...c.req.valid('json'),
      })) as never,
      200,
    ),
  );
}
