// Tools for working a step under a lease: claim, heartbeat, complete, fail, hand off. Each calls the core
// function behind POST /v1/nodes/{id}/claims and POST /v1/work-items/{id}/heartbeat|complete|fail|handoff.
import { z } from 'zod';
import { claimSteps } from '../../../capabilities/claims.js';
import { completeStep, failStep, handoffStep, heartbeatStep } from '../../../capabilities/leases.js';
import { FlowmeshError } from '../../../work/errors.js';
import { JsonValueSchema, text } from '../../../work/json.js';
import type { Principal } from '../../../work/principal.js';
import { CapabilityIdSchema, StepSchema, WorkItemSchema } from '../../../work/work-item.js';
import { defineTool, type ToolContext } from '../tool.js';
import { assertRole, WorkItemIdSchema } from './work-items.js';

/** Longest long-poll a claim_work call may ask for (the router caps it at its own setting too). */
export const MAX_WAIT_SECONDS = 60;

const LeaseSchema = z.object({ token: z.string(), expiresAt: z.string() });
const ClaimSchema = z.object({
  workItem: WorkItemSchema.omit({ steps: true }),
  step: StepSchema,
  lease: LeaseSchema,
});

const LeaseRefShape = {
  work_item_id: WorkItemIdSchema,
  step_id: z.uuid('must be a step id (a UUID)'),
  lease_token: z.string().min(1).max(200),
};

function nodeOf(principal: Principal): string {
  assertRole(principal, 'operator', 'agent');
  if (!principal.nodeId) {
    throw new FlowmeshError(
      'forbidden',
      'this key is bound to no node; connect with an agent key created with a nodeId to claim work',
    );
  }
  return principal.nodeId;
}

function leaseRef(ctx: ToolContext, args: { work_item_id: string; step_id: string; lease_token: string }) {
  assertRole(ctx.principal, 'operator', 'agent');
  ctx.annotate({ 'flowmesh.work_item.id': args.work_item_id, 'flowmesh.step': args.step_id });
  return { workItemId: args.work_item_id, stepId: args.step_id, leaseToken: args.lease_token };
}

const writes = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };

export const claimWorkTool = defineTool({
  name: 'claim_work',
  title: 'Claim work',
  description:
    'Take the best queued step your node may do, under a lease. With wait_seconds, wait up to that long for ' +
    'work to arrive. Answers claim: null when there is nothing to do. Keep lease.token: complete_work, ' +
    'fail_work, handoff_work and heartbeat need it. The result _meta.traceparent is the work item trace.',
  input: z.strictObject({
    wait_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional(),
  }),
  output: z.object({ claim: ClaimSchema.nullable() }),
  annotations: writes,
  async run(ctx, args) {
    const nodeId = nodeOf(ctx.principal);
    const [claim] = await claimSteps(ctx.core, ctx.principal, {
      nodeId,
      max: 1,
      waitSeconds: args.wait_seconds,
      signal: ctx.signal,
    });
    if (!claim) {
      return {
        structured: { claim: null },
        text: `Nothing to do: no step node ${nodeId} may take is queued.`,
      };
    }
    ctx.annotate({
      'flowmesh.work_item.id': claim.workItem.id,
      'flowmesh.step': claim.step.id,
      'flowmesh.capability': claim.step.capability,
    });
    const { traceparent, ...view } = claim;
    return {
      structured: { claim: view },
      text:
        `Claimed step ${claim.step.id} (${claim.step.capability}) of work item ${claim.workItem.id}; ` +
        `the lease expires at ${claim.lease.expiresAt}.`,
      meta: { traceparent },
    };
  },
});

export const heartbeatTool = defineTool({
  name: 'heartbeat',
  title: 'Extend a lease',
  description: 'Extend the lease on a step you hold (call it before lease.expiresAt on long steps).',
  input: z.strictObject(LeaseRefShape),
  output: z.object({ lease: LeaseSchema }),
  annotations: { ...writes, idempotentHint: true },
  async run(ctx, args) {
    const out = await heartbeatStep(ctx.core, ctx.principal, leaseRef(ctx, args));
    return { structured: out, text: `The lease now expires at ${out.lease.expiresAt}.` };
  },
});

export const completeWorkTool = defineTool({
  name: 'complete_work',
  title: 'Complete a step',
  description:
    'Finish a step you hold with its result (any JSON) and, optionally, your confidence 0..1. The work item ' +
    'moves on to its next step or is done.',
  input: z.strictObject({
    ...LeaseRefShape,
    result: JsonValueSchema.optional(),
    confidence: z.number().min(0).max(1).optional(),
  }),
  output: z.object({ workItem: WorkItemSchema, step: StepSchema }),
  annotations: writes,
  async run(ctx, args) {
    const out = await completeStep(ctx.core, ctx.principal, {
      ...leaseRef(ctx, args),
      result: args.result ?? null,
      confidence: args.confidence,
    });
    return {
      structured: out,
      text: `Completed step ${out.step.id}; work item ${out.workItem.id} is ${out.workItem.state}.`,
    };
  },
});

export const failWorkTool = defineTool({
  name: 'fail_work',
  title: 'Fail a step',
  description:
    'Give up on a step you hold. retryable (default true) returns it to the queue while attempts are left; ' +
    'otherwise the failure stands and people are alerted.',
  input: z.strictObject({ ...LeaseRefShape, reason: text(1, 2000), retryable: z.boolean().default(true) }),
  output: z.object({ workItem: WorkItemSchema, step: StepSchema, requeued: z.boolean() }),
  annotations: writes,
  async run(ctx, args) {
    const out = await failStep(ctx.core, ctx.principal, {
      ...leaseRef(ctx, args),
      reason: args.reason,
      retryable: args.retryable,
    });
    return {
      structured: out,
      text: out.requeued
        ? `Step ${out.step.id} failed and is queued again.`
        : `Step ${out.step.id} failed; work item ${out.workItem.id} is ${out.workItem.state}.`,
    };
  },
});

export const handoffWorkTool = defineTool({
  name: 'handoff_work',
  title: 'Hand off a step',
  description:
    'Close a step you hold and pass the work item on to another capability (list_capabilities names them), ' +
    'with the reason.',
  input: z.strictObject({ ...LeaseRefShape, capability: CapabilityIdSchema, reason: text(1, 2000) }),
  output: z.object({ workItem: WorkItemSchema, step: StepSchema, next: StepSchema }),
  annotations: writes,
  async run(ctx, args) {
    const out = await handoffStep(ctx.core, ctx.principal, {
      ...leaseRef(ctx, args),
      capability: args.capability,
      reason: args.reason,
    });
    return {
      structured: out,
      text: `Handed work item ${out.workItem.id} to ${out.next.capability} (step ${out.next.id}).`,
    };
  },
});
