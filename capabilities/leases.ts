// Work under a lease: heartbeat, complete, fail, hand off. Only the current holder (its lease token,
// before the lease expires) may act; anything else is `lease_lost` and changes nothing (fencing).
import type { Database } from '../store/database.js';
import { recordOutcomes } from '../store/network.js';
import {
  extendLease,
  finishStep,
  insertEscalations,
  insertEvents,
  lockStep,
  nextSeq,
  requeueSteps,
  type StepWithItem,
  updateItem,
} from '../store/router.js';
import { findSteps } from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import { type EscalationRecord, escalationOpenedEvent, newEscalation } from '../work/escalation.js';
import type { NewEvent } from '../work/events.js';
import type { JsonObject, JsonValue } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import { rankAt, stepView, workItemView } from '../work/records.js';
import { assertStepTransition } from '../work/state-machine.js';
import type { Step, WorkItem } from '../work/work-item.js';
import { assertHeld, completeUngated, mayStream, nodeRef } from './completion.js';
import type { Core } from './core.js';
import type { HopRecord } from './hooks.js';
import { policyGate, recordCompletion, rejectItem } from './policy-completion.js';
import { hop, insertRoutedStep, publishRouted, type RoutedStep, safeRecord } from './router.js';

export interface LeaseRef {
  workItemId: string;
  stepId: string;
  leaseToken: string;
}

/** Locks the step and checks that the caller holds its lease; throws lease_lost otherwise. */
async function holdStep(core: Core, tx: Database, principal: Principal, ref: LeaseRef, now: Date) {
  const found = await lockStep(core.store, tx, ref.workItemId, ref.stepId);
  assertHeld(principal, ref, found?.step, now);
  return found as StepWithItem;
}

export async function heartbeatStep(
  core: Core,
  principal: Principal,
  input: LeaseRef,
): Promise<{ lease: { token: string; expiresAt: string } }> {
  const now = core.clock.now();
  return core.store.transaction(async (tx) => {
    const { step } = await holdStep(core, tx, principal, input, now);
    const seconds = core.router.registry.capability(step.capability)?.leaseSeconds ?? 300;
    const expiresAt = new Date(now.getTime() + seconds * 1000);
    await extendLease(core.store, tx, step.id, expiresAt);
    await insertEvents(core.store, tx, [
      {
        workItemId: step.workItemId,
        stepId: step.id,
        type: 'step.heartbeat',
        data: { nodeId: step.nodeId, leaseExpiresAt: expiresAt.toISOString() },
        at: now,
      },
    ]);
    return { lease: { token: input.leaseToken, expiresAt: expiresAt.toISOString() } };
  });
}

export interface StepOutcome {
  workItem: WorkItem;
  step: Step;
}

async function itemView(db: Database, item: StepWithItem['item'], state?: WorkItem['state']) {
  const steps = await findSteps(db, [item.id]);
  return workItemView(state ? { ...item, state } : item, steps);
}

/** A failure's outcome for the circuit breaker, written with the failure (failures are rare). */
async function recordFailure(core: Core, tx: Database, nodeId: string | null, now: Date) {
  if (!nodeId) return;
  await recordOutcomes(
    core.store,
    tx,
    nodeId,
    { successes: 0, failures: 1 },
    now,
    core.router.settings.breakerWindowSeconds,
  );
}

export async function completeStep(
  core: Core,
  principal: Principal,
  input: LeaseRef & { result: JsonValue | null; confidence?: number | undefined },
): Promise<StepOutcome> {
  // Most completions are not gated by a policy: two statements, no transaction held open.
  const ungated = await completeUngated(core, principal, input);
  if (ungated) return ungated;
  const now = core.clock.now();
  const routed: RoutedStep[] = [];
  let held: StepWithItem | undefined;
  let streamed = false;
  let finished = false;
  let succeeded = false;
  const out = await core.store.transaction(async (tx) => {
    held = await holdStep(core, tx, principal, input, now);
    const { step, item } = held;
    assertStepTransition(step.state, 'completed', step.id);
    // A step a policy required answers {approved, note?}; not approved ends the item as rejected.
    const gate = await policyGate(core, tx, item, step, input.result);
    if (gate.rejected) return rejectItem(core, tx, { item, step, gate, result: input.result, now });
    // A streamed item goes on with its value stream's next step (routed after commit), not done here.
    streamed = mayStream(core, item) && (await core.router.streams?.follows(tx, item.id)) === true;
    await finishStep(core.store, tx, { stepId: step.id, state: 'completed', now, result: input.result });
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
    const verdict = core.router.guard.onComplete(item, step, input.result, {
      node: step.nodeId ? core.router.registry.node(step.nodeId) : undefined,
      confidence: input.confidence,
    });
    const required = verdict.required;
    gate.dropRepeated(required);
    // A streamed item's thread routes the required steps itself, as a gate before its next step.
    const routeNow = streamed ? [] : required;
    let seq = routeNow.length ? await nextSeq(core.store, tx, item.id) : 0;
    for (const r of routeNow) {
      routed.push(
        await insertRoutedStep(core, tx, {
          item,
          capability: r.capability,
          seq: seq++,
          now,
          data: { requiredBy: r.ruleIds.join(','), reason: r.reason },
        }),
      );
    }
    if (required.length === 0 && !streamed && gate.mayFinish) {
      finished = true;
      await updateItem(core.store, tx, {
        id: item.id,
        state: 'done',
        now,
        result: gate.result(input.result),
      });
      events.push({
        workItemId: item.id,
        stepId: null,
        type: 'work_item.done',
        data: { stepId: step.id },
        at: now,
      });
    }
    await recordCompletion(core, tx, {
      item,
      step,
      gate,
      policy: verdict.policy,
      required,
      routed,
      deferred: streamed,
      confidence: input.confidence,
      now,
    });
    await insertEvents(core.store, tx, events);
    succeeded = true;
    const view = await itemView(
      tx,
      {
        ...item,
        updatedAt: now,
        ...(required.length || streamed || !gate.mayFinish ? {} : { result: gate.result(input.result) }),
      },
      required.length || streamed || !gate.mayFinish ? undefined : 'done',
    );
    return { workItem: view, step: view.steps.find((s) => s.id === step.id) ?? stepView(step) };
  });
  if (held) {
    // Counted after commit, in memory: the node's health row is written in batches.
    if (succeeded && held.step.nodeId) core.router.outcomes.add(held.step.nodeId, true, now);
    const work = hop(
      held.item,
      held.step,
      'work',
      held.step.claimedAt ?? now,
      now,
      'completed',
      [],
      nodeRef(core, held.step.nodeId),
    );
    if (finished) work.itemEnd = { state: 'done', createdAt: held.item.createdAt, endedAt: now };
    safeRecord(core, work);
  }
  publishRouted(core, routed);
  // A streamed item's membership was read in the transaction; an item of a streamed kind that was
  // not yet bound to its stream then may have been bound since, so it is read again.
  const streams = core.router.streams;
  if (
    held &&
    streams &&
    (streamed || (mayStream(core, held.item) && (await streams.follows(core.store.db, held.item.id))))
  ) {
    try {
      await streams.stepCompleted(held.item, held.step, input.result);
    } catch (error) {
      // The completion stands; the stream goes on when the runtime next starts (recovery).
      core.logger.warn('value stream did not go on after a completion', {
        workItemId: held.item.id,
        error: String(error),
      });
    }
  }
  return out;
}

export interface FailureResult {
  requeued: boolean;
  events: NewEvent[];
  escalation: EscalationRecord | undefined;
  hops: HopRecord[];
}

/** Why a held step failed; `undelivered`: a push that never reached the node (see failHeldStep). */
export type FailureCause = 'failed' | 'lease_expired' | 'push_error' | 'undelivered';

/**
 * A held step failed (or its lease expired): back to the queue with attempt + 1 while attempts are
 * left and the failure is retryable; otherwise the step and its item fail and an escalation opens.
 * An undelivered push (the node's endpoint could not be reached at all) goes back to the queue without
 * using up an attempt and with no work hop: the node never had the step. It still counts as a failure
 * of the node, so the circuit breaker stops dispatching to an endpoint that is down.
 * Writes inside `tx`; returns what to publish after commit.
 */
export async function failHeldStep(
  core: Core,
  tx: Database,
  held: StepWithItem,
  failure: { reason: string; retryable: boolean; cause: FailureCause },
  now: Date,
): Promise<FailureResult> {
  const { step, item } = held;
  const maxAttempts = core.router.registry.capability(step.capability)?.maxAttempts ?? 3;
  const error: JsonObject = {
    reason: failure.reason,
    cause: failure.cause,
    nodeId: step.nodeId,
    attempt: step.attempt,
  };
  const node = nodeRef(core, step.nodeId);
  const undelivered = failure.cause === 'undelivered';
  const hops: HopRecord[] = undelivered
    ? []
    : [hop(item, step, 'work', step.claimedAt ?? now, now, failure.cause, [], node)];
  await recordFailure(core, tx, step.nodeId, now);
  if (undelivered || (failure.retryable && step.attempt < maxAttempts)) {
    assertStepTransition(step.state, 'queued', step.id);
    await requeueSteps(core.store, tx, [
      {
        stepId: step.id,
        queuedAt: now,
        rankAt: rankAt(now, step.priority),
        error,
        spendAttempt: !undelivered,
      },
    ]);
    const events: NewEvent[] = [
      {
        workItemId: item.id,
        stepId: step.id,
        type: 'step.requeued',
        data: { ...error, nextAttempt: undelivered ? step.attempt : step.attempt + 1 },
        at: now,
      },
    ];
    await insertEvents(core.store, tx, events);
    return { requeued: true, events, escalation: undefined, hops };
  }
  assertStepTransition(step.state, 'failed', step.id);
  await finishStep(core.store, tx, { stepId: step.id, state: 'failed', now, error });
  await updateItem(core.store, tx, { id: item.id, state: 'failed', now });
  const exhausted = failure.retryable;
  const escalation = newEscalation({
    kind: exhausted ? 'retries_exhausted' : 'step_failed',
    severity: 'high',
    workItemId: item.id,
    stepId: step.id,
    reason: exhausted
      ? `${step.capability} failed ${step.attempt} of ${maxAttempts} attempts; last: ${failure.reason}`
      : `${step.capability} failed and may not be retried: ${failure.reason}`,
    details: error,
    now,
  });
  const events: NewEvent[] = [
    { workItemId: item.id, stepId: step.id, type: 'step.failed', data: error, at: now },
    { workItemId: item.id, stepId: null, type: 'work_item.failed', data: { stepId: step.id }, at: now },
    escalationOpenedEvent(escalation),
  ];
  await insertEvents(core.store, tx, events);
  await insertEscalations(core.store, tx, [escalation]);
  hops.push(hop(item, step, 'escalate', now, now, escalation.kind, [], node));
  return { requeued: false, events, escalation, hops };
}

/** After commit: hops, and wake claimers when the step went back to its queue. */
export function publishFailure(core: Core, held: StepWithItem, result: FailureResult): void {
  core.router.claimed.forget(held.step.id);
  for (const h of result.hops) safeRecord(core, h);
  if (result.requeued) core.router.wakeups.queued([held.step.capability]);
}

export async function failStep(
  core: Core,
  principal: Principal,
  input: LeaseRef & { reason: string; retryable: boolean; cause?: FailureCause | undefined },
): Promise<StepOutcome & { requeued: boolean }> {
  const now = core.clock.now();
  let held: StepWithItem | undefined;
  let result: FailureResult | undefined;
  const out = await core.store.transaction(async (tx) => {
    held = await holdStep(core, tx, principal, input, now);
    result = await failHeldStep(
      core,
      tx,
      held,
      { reason: input.reason, retryable: input.retryable, cause: input.cause ?? 'failed' },
      now,
    );
    const view = await itemView(tx, held.item, result.requeued ? undefined : 'failed');
    return {
      workItem: view,
      step: view.steps.find((s) => s.id === input.stepId)!,
      requeued: result.requeued,
    };
  });
  if (held && result) publishFailure(core, held, result);
  return out;
}

export async function handoffStep(
  core: Core,
  principal: Principal,
  input: LeaseRef & { capability: string; reason: string },
): Promise<StepOutcome & { next: Step }> {
  if (!core.router.registry.capability(input.capability)) {
    throw new FlowmeshError(
      'invalid',
      `unknown capability ${input.capability}; GET /v1/capabilities lists them`,
      {
        errors: [{ path: 'capability', message: `unknown capability ${input.capability}` }],
      },
    );
  }
  const now = core.clock.now();
  let held: StepWithItem | undefined;
  let routed: RoutedStep | undefined;
  const out = await core.store.transaction(async (tx) => {
    held = await holdStep(core, tx, principal, input, now);
    const { step, item } = held;
    assertStepTransition(step.state, 'handed_off', step.id);
    await finishStep(core.store, tx, {
      stepId: step.id,
      state: 'handed_off',
      now,
      result: { handedOffTo: input.capability, reason: input.reason },
    });
    const seq = await nextSeq(core.store, tx, item.id);
    routed = await insertRoutedStep(core, tx, { item, capability: input.capability, seq, now });
    await insertEvents(core.store, tx, [
      {
        workItemId: item.id,
        stepId: step.id,
        type: 'step.handed_off',
        data: { nodeId: step.nodeId, to: input.capability, nextStepId: routed.step.id, reason: input.reason },
        at: now,
      },
    ]);
    const view = await itemView(tx, item);
    return {
      workItem: view,
      step: view.steps.find((s) => s.id === step.id)!,
      next: view.steps.find((s) => s.id === routed?.step.id)!,
    };
  });
  if (held) {
    core.router.claimed.forget(held.step.id);
    const { item, step } = held;
    const node = nodeRef(core, step.nodeId);
    // What the node did before handing off is work time of this step; the handoff itself is a moment.
    safeRecord(core, hop(item, step, 'work', step.claimedAt ?? now, now, 'handed_off', [], node));
    safeRecord(core, hop(item, step, 'handoff', now, now, 'handed_off', [], node));
  }
  if (routed) publishRouted(core, [routed]);
  return out;
}
