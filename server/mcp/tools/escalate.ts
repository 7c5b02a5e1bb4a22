// The escalate tool: an agent asks a person to look at a work item (the same core function as
// POST /v1/work-items/{id}/escalate). Severity says how urgent; kind low_confidence marks self-doubt.
import { z } from 'zod';
import { escalate, RAISED_KINDS } from '../../../capabilities/escalate.js';
import { ESCALATION_SEVERITIES } from '../../../work/escalation.js';
import { text } from '../../../work/json.js';
import { defineTool } from '../tool.js';
import { assertRole, WorkItemIdSchema } from './work-items.js';

const EscalationSchema = z.object({
  id: z.string(),
  kind: z.string(),
  severity: z.enum(ESCALATION_SEVERITIES),
  state: z.string(),
  workItemId: z.string(),
  stepId: z.string().nullable(),
  reason: z.string(),
  owner: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  resolution: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  resolvedAt: z.string().nullable(),
});

export const escalateTool = defineTool({
  name: 'escalate',
  title: 'Escalate to a person',
  description:
    'Ask a person to look at a work item you hold or held: the reason, and a severity (low, medium, high, ' +
    'critical). Use kind low_confidence with your confidence when you are unsure of your own result.',
  input: z.strictObject({
    work_item_id: WorkItemIdSchema,
    reason: text(1, 2000),
    severity: z.enum(ESCALATION_SEVERITIES).default('medium'),
    kind: z.enum(RAISED_KINDS).optional(),
    step_id: z.uuid('must be a step id (a UUID)').optional(),
    confidence: z.number().min(0).max(1).optional(),
  }),
  output: z.object({ escalation: EscalationSchema, created: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, args) {
    assertRole(ctx.principal, 'operator', 'submitter', 'agent');
    ctx.annotate({ 'flowmesh.work_item.id': args.work_item_id });
    const out = await escalate(ctx.core, ctx.principal, {
      workItemId: args.work_item_id,
      reason: args.reason,
      severity: args.severity,
      kind: args.kind,
      stepId: args.step_id,
      confidence: args.confidence,
    });
    return {
      structured: out,
      text: out.created
        ? `Escalation ${out.escalation.id} (${out.escalation.severity}) is open for work item ${args.work_item_id}.`
        : `An escalation of this kind was already open for this step: ${out.escalation.id}.`,
    };
  },
});
