// /v1/escalations (operator): the queue, most severe then oldest; acknowledge, assign, resolve with an
// action. POST /v1/work-items/:id/escalate lets agents and people raise one with a reason.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import { escalate, RAISED_KINDS } from '../../capabilities/escalate.js';
import {
  acknowledgeEscalation,
  assignEscalation,
  getEscalation,
  listEscalationQueue,
} from '../../capabilities/escalation-queue.js';
import { resolveEscalation } from '../../capabilities/escalation-resolve.js';
import { ESCALATION_KINDS, ESCALATION_SEVERITIES, ESCALATION_STATES } from '../../work/escalation.js';
import { ResolveEscalationSchema } from '../../work/escalation-actions.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec } from '../schemas.js';

const csvOf = <T extends string>(values: readonly T[], what: string) =>
  z
    .string()
    .max(500)
    .transform((v, ctx) => {
      const list = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const x of list) {
        if (!values.includes(x as T)) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(x)} is not ${what} (${values.join(', ')})`,
          });
          return z.NEVER;
        }
      }
      return list as T[];
    });

const EscalationView = z
  .object({
    id: z.string(),
    kind: z.string(),
    severity: z.enum(ESCALATION_SEVERITIES),
    state: z.enum(ESCALATION_STATES),
    workItemId: z.string(),
    stepId: z.string().nullable(),
    reason: z.string(),
    owner: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    resolution: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    resolvedAt: z.string().nullable(),
  })
  .openapi('Escalation');

const one = {
  200: { description: 'The escalation', content: { 'application/json': { schema: EscalationView } } },
};

const listRoute = createRoute({
  method: 'get',
  path: '/v1/escalations',
  tags: ['escalations'],
  summary: 'The escalation queue: most severe first, then oldest',
  middleware: [requireRole('operator')] as const,
  request: {
    query: z.object({
      state: csvOf(ESCALATION_STATES, 'an escalation state')
        .optional()
        .openapi({ description: 'Comma-separated; default open,acknowledged' }),
      kind: csvOf(ESCALATION_KINDS, 'an escalation kind').optional(),
      severity: csvOf(ESCALATION_SEVERITIES, 'a severity').optional(),
      workItemId: z.uuid('must be a UUID').optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: {
      description: 'Escalations',
      content: { 'application/json': { schema: z.object({ escalations: z.array(EscalationView) }) } },
    },
    ...commonErrors,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/escalations/{id}',
  tags: ['escalations'],
  summary: 'Read an escalation',
  middleware: [requireRole('operator')] as const,
  request: { params: IdParam },
  responses: { ...one, 404: problemResponseSpec('No such escalation'), ...commonErrors },
});

const ackRoute = createRoute({
  method: 'post',
  path: '/v1/escalations/{id}/ack',
  tags: ['escalations'],
  summary: 'Acknowledge: someone is looking at it (the caller owns it unless it has an owner)',
  middleware: [requireRole('operator')] as const,
  request: { params: IdParam },
  responses: {
    ...one,
    404: problemResponseSpec('No such escalation'),
    409: problemResponseSpec('Already resolved'),
    ...commonErrors,
  },
});

const assignRoute = createRoute({
  method: 'post',
  path: '/v1/escalations/{id}/assign',
  tags: ['escalations'],
  summary: 'Give the escalation an owner',
  middleware: [requireRole('operator')] as const,
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        'application/json': { schema: z.strictObject({ owner: z.string().trim().min(1).max(200) }) },
      },
    },
  },
  responses: {
    ...one,
    404: problemResponseSpec('No such escalation'),
    409: problemResponseSpec('Already resolved'),
    ...commonErrors,
  },
});

const resolveRoute = createRoute({
  method: 'post',
  path: '/v1/escalations/{id}/resolve',
  tags: ['escalations'],
  summary: 'Resolve with an action: retry, reroute {nodeId | capability}, cancel, approve, reject, dismiss',
  description:
    'The action and the resolution commit together. `retry` routes the step again (a failed step gets a new ' +
    'attempt, a held one goes back to its queue); `reroute` sends it to one node or to another capability; ' +
    '`cancel` cancels the item; `approve` completes the step on your authority; `reject` fails the item; ' +
    '`dismiss` changes nothing. An action that no longer fits the item answers 409 with the reason.',
  middleware: [requireRole('operator')] as const,
  request: {
    params: IdParam,
    body: {
      required: true,
      content: { 'application/json': { schema: ResolveEscalationSchema.openapi('ResolveEscalation') } },
    },
  },
  responses: {
    ...one,
    404: problemResponseSpec('No such escalation'),
    409: problemResponseSpec('Already resolved, or the action no longer fits the item'),
    ...commonErrors,
  },
});

const escalateRoute = createRoute({
  method: 'post',
  path: '/v1/work-items/{id}/escalate',
  tags: ['escalations'],
  summary: 'Raise an escalation on a work item, with a reason',
  description:
    'For agents and people who need a human to look. At most one unresolved escalation of a kind per step: ' +
    'raising it again returns the existing one (200).',
  middleware: [requireRole('operator', 'agent', 'submitter')] as const,
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              reason: z.string().trim().min(1).max(2000),
              severity: z.enum(ESCALATION_SEVERITIES).optional(),
              kind: z.enum(RAISED_KINDS).optional(),
              stepId: z.uuid('must be a UUID').optional(),
              confidence: z.number().min(0).max(1).optional(),
            })
            .openapi('Escalate'),
        },
      },
    },
  },
  responses: {
    201: { description: 'Opened', content: { 'application/json': { schema: EscalationView } } },
    200: {
      description: 'Already open for this step and kind',
      content: { 'application/json': { schema: EscalationView } },
    },
    404: problemResponseSpec('No such work item'),
    409: problemResponseSpec('The item is no longer open'),
    ...commonErrors,
  },
});

export function registerEscalationRoutes(app: OpenAPIHono<AppEnv>, core: Core): void {
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const escalations = await listEscalationQueue(core, {
      states: q.state,
      kinds: q.kind,
      severities: q.severity,
      workItemId: q.workItemId,
      limit: q.limit,
    });
    return c.json({ escalations }, 200);
  });
  app.openapi(getRoute, async (c) => c.json(await getEscalation(core, c.req.valid('param').id), 200));
  app.openapi(ackRoute, async (c) =>
    c.json(await acknowledgeEscalation(core, c.get('principal'), c.req.valid('param').id), 200),
  );
  app.openapi(assignRoute, async (c) =>
    c.json(
      await assignEscalation(core, c.get('principal'), c.req.valid('param').id, c.req.valid('json').owner),
      200,
    ),
  );
  app.openapi(resolveRoute, async (c) =>
    c.json(
      await resolveEscalation(core, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
      200,
    ),
  );
  app.openapi(escalateRoute, async (c) => {
    const body = c.req.valid('json');
    const out = await escalate(core, c.get('principal'), { ...body, workItemId: c.req.valid('param').id });
    return c.json(out.escalation, out.created ? 201 : 200);
  });
}
