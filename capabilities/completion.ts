// The common completion: decide in memory, then write the step, its events, the policy decision and
// (for the last step) the item in one statement fenced by the lease, group-committed with the
// completions that arrive beside it. A claim this instance made is decided from what the claim read;
// any other first reads the item and its steps. Completions that policies gate (a required step, a
// new requirement, an escalation) take the locked path in leases.ts instead, which this file hands
// back to by returning undefined.
import { type ItemForCompletion, readItemForCompletion } from '../store/completion.js';
import type { DecisionRecord } from '../work/decision.js';
import { FlowmeshError } from '../work/errors.js';
import type { NewEvent } from '../work/events.js';
import { uuidv7 } from '../work/ids.js';
import type { JsonValue } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import { type StepRecord, type WorkItemRecord, workItemView } from '../work/records.js';
import { assertStepTransition } from '../work/state-machine.js';
import type { Step, WorkItem } from '../work/work-item.js';
import { assertActsFor } from './claims.js';
import type { Core } from './core.js';
import type { HopRecord } from './hooks.js';
import { hop, safeRecord } from './router.js';

export interface CompleteInput {
  workItemId: string;
  stepId: string;
  leaseToken: string;
  result: JsonValue | null;
  confidence?: number | undefined;
}

/** Throws unless the caller holds the step's live lease (not_found, forbidden, lease_lost). */
export function assertHeld(
  principal: Principal,
  ref: { workItemId: string; stepId: string; leaseToken: string },
  step: StepRecord | undefined,
  now: Date,
): asserts step is StepRecord {
  if (!step) {
    throw new FlowmeshError('not_found', `work item ${ref.workItemId} has no step ${ref.stepId}`);
  }
  if (step.nodeId !== null) assertActsFor(principal, step.nodeId);
  const live =
    step.state === 'claimed' &&
    step.leaseToken === ref.leaseToken &&
    step.leaseExpiresAt !== null &&
    step.leaseExpiresAt.getTime() > now.getTime();
  if (!live) {
    throw new FlowmeshError(
      'lease_lost',
      `the lease on step ${step.id} is not held by this token (the step is ${step.state}, attempt ${step.attempt}); ` +
        'claim the work again',
      { details: { state: step.state, attempt: step.attempt } },
    );
  }
}

export function nodeRef(
  core: Core,
  nodeId: string | null,
): { id: string; kind: HopRecord['nodeKind'] } | null {
  const node = nodeId ? core.router.registry.node(nodeId) : undefined;
  return node ? { id: node.id, kind: node.kind } : nodeId ? { id: nodeId, kind: null } : null;
}

/** True when the item may follow a value stream: its kind has one (membership is then read once). */
export function mayStream(core: Core, item: WorkItemRecord): boolean {
  return core.router.streams?.firstStep(item.kind) !== undefined;
}

type Outcome = { workItem: WorkItem; step: Step };

/**
 * Completes the step when no policy gates it. Undefined when the locked path must decide: the item
 * has policy requirements, policies require a step or raise an escalation, or the lease changed
 * before the write (the locked path then reports it, having changed nothing).
 */
export async function completeUngated(
  core: Core,
  principal: Principal,
  input: CompleteInput,
): Promise<Outcome | undefined> {
  const now = core.clock.now();
  // A claim this instance made: its step and item are in memory, so the write is the only statement.
  const claimed = core.router.claimed.take(input.stepId, input.leaseToken);
  if (claimed && claimed.item.id === input.workItemId && !mayStream(core, claimed.item)) {
    if (claimed.step.nodeId !== null) assertActsFor(principal, claimed.step.nodeId);
    const out = await decideAndWrite(core, input, claimed.item, claimed.step, undefined, now);
    if (out === 'gated') return undefined;
    if (out !== 'lost') return out;
    // Lost, or the item gained a requirement or a stream: read it and decide again.
  }
  const read = await readItemForCompletion(core.store, input.workItemId);
  const step = read?.steps.find((s) => s.id === input.stepId);
  assertHeld(principal, input, step, now);
  if (!read || read.hasRequirements) return undefined;
  const out = await decideAndWrite(core, input, read.item, step, read, now);
  return typeof out === 'string' ? undefined : out;
}

/**
 * Evaluates the completion policies and, when they let the step simply complete, writes it.
 * `read`: what was read of the item; undefined when deciding from this instance's claim.
 */
async function decideAndWrite(
  core: Core,
  input: CompleteInput,
  item: WorkItemRecord,
  step: StepRecord,
  read: ItemForCompletion | undefined,
  now: Date,
): Promise<Outcome | 'gated' | 'lost'> {
  assertStepTransition(step.state, 'completed', step.id);
  const node = step.nodeId ? core.router.registry.node(step.nodeId) : undefined;
  const verdict = core.router.guard.onComplete(item, step, input.result, {
    node,
    confidence: input.confidence,
  });
  const policy = verdict.policy;
  if (verdict.required.length > 0 || (policy?.escalations.length ?? 0) > 0) return 'gated';

  // A streamed item goes on with its value stream's next step; otherwise this step was its last.
  const streamed = read?.streamed === true;
  const finish = !streamed;
  const events: NewEvent[] = [
    {
      workItemId: item.id,
      stepId: step.id,
      type: 'step.completed',
      data: {
        nodeId: step.nodeId,
        attempt: step.attempt,
        ...(input.confidence === undefined ? {} : { confidence: input.confidence }),
      },
      at: now,
    },
  ];
  if (finish) {
    events.push({
      workItemId: item.id,
      stepId: null,
      type: 'work_item.done',
      data: { stepId: step.id },
      at: now,
    });
  }
  // The same decision the locked path stores for a completion that requires nothing.
  const decision: DecisionRecord | undefined = policy && {
    id: uuidv7(now.getTime()),
    workItemId: item.id,
    stepId: step.id,
    hook: 'complete',
    outcome: 'continued',
    policyVersion: policy.version,
    ruleIds: [...new Set(policy.ruleIds)],
    details: {
      capability: step.capability,
      ...(input.confidence === undefined ? {} : { confidence: input.confidence }),
      required: [],
      escalations: [],
      failures: policy.failures.map((x) => ({ ...x })),
    },
    at: now,
  };
  const written = await core.router.completions.add({
    workItemId: item.id,
    stepId: step.id,
    leaseToken: input.leaseToken,
    now,
    result: input.result,
    finishItem: finish ? { result: input.result } : undefined,
    events,
    decision,
    unread: read === undefined,
  });
  if (!written.written) return 'lost';

  const done: StepRecord = {
    ...step,
    state: 'completed',
    finishedAt: now,
    leaseToken: null,
    leaseExpiresAt: null,
    result: input.result,
  };
  const steps = read?.steps ?? written.steps;
  const view = workItemView(
    finish ? { ...item, state: 'done', result: input.result, updatedAt: now } : { ...item, updatedAt: now },
    steps.map((s) => (s.id === step.id ? done : s)),
  );
  if (step.nodeId) core.router.outcomes.add(step.nodeId, true, now);
  const work = hop(
    item,
    step,
    'work',
    step.claimedAt ?? now,
    now,
    'completed',
    [],
    nodeRef(core, step.nodeId),
  );
  if (finish) work.itemEnd = { state: 'done', createdAt: item.createdAt, endedAt: now };
  safeRecord(core, work);
  if (streamed && core.router.streams) {
    try {
      await core.router.streams.stepCompleted(item, step, input.result);
    } catch (error) {
      // The completion stands; the stream goes on when the runtime next starts (recovery).
      core.logger.warn('value stream did not go on after a completion', {
        workItemId: item.id,
        error: String(error),
      });
    }
  }
  return { workItem: view, step: view.steps.find((s) => s.id === step.id)! };
}
