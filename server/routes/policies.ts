// /v1/policies: the running policy set and its version, replacing it (admin), and a dry run for authors.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { DryRunSchema, dryRun } from '../../policies/dry-run.js';
import type { NodeFacts } from '../../policies/environment.js';
import type { PolicyHolder } from '../../policies/holder.js';
import { policyProblemsError } from '../../policies/load.js';
import type { Clock } from '../../work/clock.js';
import type { DecisionRecord } from '../../work/decision.js';
import type { Principal } from '../../work/principal.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec } from '../schemas.js';

export interface PolicyRoutesDeps {
  policies: PolicyHolder;
  /** The nodes a dry run may name or route over. */
  nodes(): readonly NodeFacts[];
  clock: Clock;
  /** Every stored decision about an item the caller may see, oldest first. */
  decisions(principal: Principal, workItemId: string): Promise<DecisionRecord[]>;
}

const RuleView = z
  .object({
    id: z.string(),
    description: z.string(),
    on: z.enum(['admit', 'route', 'complete']),
    when: z.string(),
    deny: z.string().optional(),
    require: z.string().optional(),
    escalate: z.object({ severity: z.string(), reason: z.string() }).optional(),
    message: z.string().optional(),
    file: z.string(),
    line: z.int(),
  })
  .openapi('PolicyRule');

const ProblemView = z.object({
  file: z.string(),
  ruleId: z.string().nullable(),
  field: z.string().nullable(),
  line: z.int(),
  column: z.int(),
  reason: z.string(),
});

const PolicySetView = z
  .object({
    version: z
      .string()
      .openapi({ description: 'A hash of the rule files: the same files give the same version' }),
    path: z.string().nullable().openapi({ description: 'Where SIGHUP and the file watch reload from' }),
    files: z.array(z.string()),
    rules: z.array(RuleView),
    lastReload: z
      .object({
        at: z.string(),
        trigger: z.string(),
        ok: z.boolean(),
        version: z.string(),
        problems: z.array(ProblemView),
      })
      .nullable()
      .openapi({ description: 'The last reload attempt; a failed one left the running set in place' }),
  })
  .openapi('PolicySet');

const getRoute = createRoute({
  method: 'get',
  path: '/v1/policies',
  tags: ['policies'],
  summary: 'The running policy set and its version',
  responses: {
    200: { description: 'The running set', content: { 'application/json': { schema: PolicySetView } } },
    ...commonErrors,
  },
});

const ReplaceBody = z
  .strictObject({
    files: z
      .array(
        z.strictObject({
          name: z
            .string()
            .min(1)
            .max(200)
            .regex(/^[A-Za-z0-9_./-]+$/, 'file names use letters, digits, "_", "-", "." and "/"'),
          text: z.string().max(1_000_000),
        }),
      )
      .min(1)
      .max(100),
  })
  .openapi('ReplacePolicies', {
    example: {
      files: [
        {
          name: 'guardrails.yaml',
          text: '- id: pii-stays-with-humans\n  on: route\n  when: has(item.attributes.pii) && item.attributes.pii\n  deny: node.kind != "human_team"\n',
        },
      ],
    },
  });

const putRoute = createRoute({
  method: 'put',
  path: '/v1/policies',
  tags: ['policies'],
  summary: 'Replace the running policy set (admin)',
  description:
    'Checks the files as a whole; if any rule has a problem nothing changes and the answer lists every ' +
    'problem with file, rule id, line, column and reason. The set lives in this process until the next ' +
    'reload from FLOWMESH_POLICIES (SIGHUP or the file watch).',
  middleware: [requireRole()] as const,
  request: { body: { required: true, content: { 'application/json': { schema: ReplaceBody } } } },
  responses: {
    200: {
      description: 'The new set is running',
      content: {
        'application/json': {
          schema: z.object({ version: z.string(), previousVersion: z.string(), changed: z.boolean() }),
        },
      },
    },
    ...commonErrors,
  },
});

const DryRunBody = DryRunSchema.clone().openapi('PolicyDryRun', {
  example: {
    on: 'route',
    item: { kind: 'refund', attributes: { pii: true, amount: 900 } },
    step: { capability: 'refund.assess', attempt: 1 },
  },
});

const evaluateRoute = createRoute({
  method: 'post',
  path: '/v1/policies/evaluate',
  tags: ['policies'],
  summary: 'Dry run: which rules apply to an item (and a node or a result), and why',
  request: { body: { required: true, content: { 'application/json': { schema: DryRunBody } } } },
  responses: {
    200: {
      description: 'The effects, the deciding rules and every rule of the hook explained',
      content: {
        'application/json': {
          schema: z
            .object({
              version: z.string(),
              on: z.string(),
              denied: z.boolean(),
              effects: z.array(z.record(z.string(), z.unknown())),
              ruleIds: z.array(z.string()),
              failures: z.array(z.record(z.string(), z.unknown())),
              eligible: z.array(z.string()).optional(),
              excluded: z.array(z.record(z.string(), z.unknown())).optional(),
              rules: z.array(z.record(z.string(), z.unknown())),
            })
            .openapi('PolicyDryRunResult'),
        },
      },
    },
    ...commonErrors,
  },
});

const DecisionView = z
  .object({
    id: z.string(),
    stepId: z.string().nullable(),
    hook: z.enum(['admit', 'route', 'complete']),
    outcome: z.string().openapi({
      description: 'admitted, routed, unroutable, continued, required, approved or rejected',
    }),
    policyVersion: z.string(),
    ruleIds: z.array(z.string()),
    details: z.record(z.string(), z.unknown()).openapi({
      description:
        'Effects, rules that failed to evaluate (fail closed), and for routing the eligible nodes and every exclusion with its reason',
    }),
    at: z.string(),
  })
  .openapi('Decision');

const decisionsRoute = createRoute({
  method: 'get',
  path: '/v1/work-items/{id}/decisions',
  tags: ['policies'],
  summary: 'Every policy decision about the item, with the policy version and the rules that made it',
  request: { params: IdParam },
  responses: {
    200: {
      description: 'Decisions, oldest first',
      content: { 'application/json': { schema: z.object({ decisions: z.array(DecisionView) }) } },
    },
    404: problemResponseSpec('No such work item'),
    ...commonErrors,
  },
});

export function registerPolicyRoutes(app: OpenAPIHono<AppEnv>, deps: PolicyRoutesDeps): void {
  app.openapi(getRoute, (c) => {
    const set = deps.policies.current();
    const last = deps.policies.lastReload();
    return c.json(
      {
        version: set.version,
        path: deps.policies.path ?? null,
        files: set.sources.map((s) => s.file),
        rules: set.rules.map((r) => ({
          id: r.id,
          description: r.description,
          on: r.on,
          when: r.when,
          ...(r.deny !== undefined ? { deny: r.deny } : {}),
          ...(r.require !== undefined ? { require: r.require } : {}),
          ...(r.escalate !== undefined ? { escalate: r.escalate } : {}),
          ...(r.message !== undefined ? { message: r.message } : {}),
          file: r.file,
          line: r.line,
        })),
        lastReload: last ?? null,
      },
      200,
    );
  });

  app.openapi(putRoute, async (c) => {
    const body = c.req.valid('json');
    const outcome = await deps.policies.replace(
      body.files.map((f) => ({ file: f.name, text: f.text })),
      'api',
    );
    if (!outcome.ok) {
      throw policyProblemsError(
        outcome.problems,
        `policy set (the running set ${outcome.runningVersion} stays)`,
      );
    }
    return c.json(
      { version: outcome.version, previousVersion: outcome.previousVersion, changed: outcome.changed },
      200,
    );
  });

  app.openapi(decisionsRoute, async (c) => {
    const list = await deps.decisions(c.get('principal'), c.req.valid('param').id);
    return c.json(
      {
        decisions: list.map((d) => ({
          id: d.id,
          stepId: d.stepId,
          hook: d.hook,
          outcome: d.outcome,
          policyVersion: d.policyVersion,
          ruleIds: d.ruleIds,
          details: d.details,
          at: d.at.toISOString(),
        })),
      },
      200,
    );
  });

  app.openapi(evaluateRoute, (c) => {
    const result = dryRun(deps.policies.current(), deps.nodes(), c.req.valid('json'), deps.clock.now());
    return c.json(result as never, 200);
  });
}
