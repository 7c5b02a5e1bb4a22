// What each resolution action does to the work, inside the resolution's transaction: retry and
// reroute put it back in flow through the router's own functions (routeStep, insertRoutedStep);
// cancel, approve and reject end it. An action that no longer fits the item throws a 409 with the reason.
import type { Database } from '../store/database.js';
import {
  finishStep,
  insertEvents,
  nextSeq,
  requeueSteps,
  updateItem,
  updateRouting,
} from '../store/router.js';
import { cancelOpenSteps, updateWorkItemState } from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import type { EscalationRecord } from '../work/escalation.js';
import type { NewEvent } from '../work/events.js';
import type { JsonObject } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import { rankAt, type StepRecord, type WorkItemRecord } from '../work/records.js';
import type { Core } from './core.js';
import type { HopRecord } from './hooks.js';
import { insertRoutedStep, type RoutedStep, routeStep } from './router.js';

export interface ActionContext {
  core: Core;
  tx: Database;
  principal: Principal;
  escalation: EscalationRecord;
  item: WorkItemRecord;
  /** The escalated step (locked), when the escalation names one. */
  step: StepRecord | undefined;
  now: Date;
  events: NewEvent[];
  routed: RoutedStep[];
  hops: HopRecord[];
  woken: Set<string>;
}

export function stale(
  e: EscalationRecord,
  why: string,
  details: Record<string, unknown> = {},
): FlowmeshError {
  return new FlowmeshError('conflict', `cannot resolve escalation ${e.id} this way: ${why}`, { details });
}

const OPEN_STEP = new Set(['queued', 'claimed']);

/** Writes the events so far, so the log keeps cause before effect (rerouted, then the new step's queued). */
async function flushAndRoute(
  c: ActionContext,
  input: Parameters<typeof insertRoutedStep>[2],
): Promise<RoutedStep> {
  await insertEvents(c.core.store, c.tx, c.events.splice(0));
  return insertRoutedStep(c.core, c.tx, input);
}

function requireOpenItem(c: ActionContext, action: string): void {
  if (c.item.state !== 'open') {
    throw stale(c.escalation, `work item ${c.item.id} is ${c.item.state}, so there is nothing to ${action}`, {
      itemState: c.item.state,
    });
  }
}

/** A failed item gets a new attempt: back to open. */
async function reopen(c: ActionContext, why: string): Promise<void> {
  if (c.item.state === 'open') return;
  await updateWorkItemState(c.tx, c.item.id, 'open', c.now);
  c.events.push({
    workItemId: c.item.id,
    stepId: null,
    type: 'work_item.reopened',
    data: { escalationId: c.escalation.id, by: c.principal.id, why },
    at: c.now,
  });
  c.item = { ...c.item, state: 'open' };
}

/** The step's work may start over: failed → a new step; claimed → back to the queue; queued → routed again. */
export async function retry(c: ActionContext): Promise<void> {
  const { step } = c;
  if (c.item.state !== 'open' && c.item.state !== 'failed') {
    throw stale(c.escalation, `work item ${c.item.id} is ${c.item.state}`, { itemState: c.item.state });
  }
  if (!step) throw stale(c.escalation, 'it names no step to retry; reroute to a capability instead');
  if (step.state === 'failed') {
    await reopen(c, 'retry');
    const seq = await nextSeq(c.core.store, c.tx, c.item.id);
    c.routed.push(
      await flushAndRoute(c, {
        item: c.item,
        capability: step.capability,
        seq,
        now: c.now,
        data: { retryOf: step.id },
      }),
    );
    return;
  }
  if (c.item.state !== 'open') requireOpenItem(c, 'retry');
  if (step.state === 'claimed') {
    await requeueSteps(c.core.store, c.tx, [
      {
        stepId: step.id,
        queuedAt: c.now,
        rankAt: rankAt(c.now, step.priority),
        error: {
          reason: 'released by an operator to retry',
          escalationId: c.escalation.id,
          nodeId: step.nodeId,
        },
      },
    ]);
    c.events.push({
      workItemId: c.item.id,
      stepId: step.id,
      type: 'step.requeued',
      data: {
        reason: 'retry',
        escalationId: c.escalation.id,
        nodeId: step.nodeId,
        nextAttempt: step.attempt + 1,
      },
      at: c.now,
    });
    c.woken.add(step.capability);
    return;
  }
  if (step.state === 'queued') {
    const r = routeStep(c.core, c.item, step, c.now);
    if (r.step.routing !== 'routable') {
      throw stale(
        c.escalation,
        `still no node may take ${step.capability} (${r.escalation?.reason ?? 'no eligible node'}); reroute it to a node or a capability`,
        { exclusions: r.step.exclusions },
      );
    }
    await updateRouting(c.core.store, c.tx, [
      {
        stepId: step.id,
        eligibleNodes: r.step.eligibleNodes,
        exclusions: r.step.exclusions,
        routing: 'routable',
        tier: r.step.tier,
      },
    ]);
    c.events.push({
      workItemId: c.item.id,
      stepId: step.id,
      type: 'step.rerouted',
      data: {
        capability: step.capability,
        eligibleNodes: r.step.eligibleNodes,
        escalationId: c.escalation.id,
      },
      at: c.now,
    });
    c.woken.add(step.capability);
    return;
  }
  throw stale(c.escalation, `step ${step.id} is already ${step.state}`, { stepState: step.state });
}

export async function reroute(
  c: ActionContext,
  target: { nodeId?: string | undefined; capability?: string | undefined },
): Promise<void> {
  const { core, step } = c;
  if (c.item.state !== 'open' && c.item.state !== 'failed') {
    throw stale(c.escalation, `work item ${c.item.id} is ${c.item.state}`, { itemState: c.item.state });
  }
  if (step && !OPEN_STEP.has(step.state) && step.state !== 'failed') {
    throw stale(c.escalation, `step ${step.id} is already ${step.state}; the work moved on`, {
      stepState: step.state,
    });
  }
  if (target.capability !== undefined) {
    if (!core.router.registry.capability(target.capability)) {
      throw new FlowmeshError(
        'invalid',
        `unknown capability ${target.capability}; GET /v1/capabilities lists them`,
        {
          errors: [{ path: 'capability', message: `unknown capability ${target.capability}` }],
        },
      );
    }
    if (step && OPEN_STEP.has(step.state)) {
      await finishStep(core.store, c.tx, { stepId: step.id, state: 'handed_off', now: c.now });
    }
    await reopen(c, 'reroute');
    c.events.push({
      workItemId: c.item.id,
      stepId: step?.id ?? null,
      type: 'step.rerouted',
      data: {
        from: step?.capability ?? null,
        to: target.capability,
        escalationId: c.escalation.id,
        by: c.principal.id,
      },
      at: c.now,
    });
    const seq = await nextSeq(core.store, c.tx, c.item.id);
    c.routed.push(await flushAndRoute(c, { item: c.item, capability: target.capability, seq, now: c.now }));
    return;
  }
  const nodeId = target.nodeId as string;
  const node = core.router.registry.node(nodeId);
  if (!node) {
    throw new FlowmeshError('invalid', `unknown node ${nodeId}; GET /v1/nodes lists them`, {
      errors: [{ path: 'nodeId', message: `unknown node ${nodeId}` }],
    });
  }
  if (!step) throw stale(c.escalation, 'it names no step to send to a node; reroute to a capability instead');
  if (!core.router.registry.claimable(nodeId).includes(step.capability)) {
    throw new FlowmeshError(
      'invalid',
      `node ${nodeId} does not provide ${step.capability}, so it could not claim the step; reroute to one of its capabilities instead`,
      { errors: [{ path: 'nodeId', message: `does not provide ${step.capability}` }] },
    );
  }
  let target_ = step;
  if (step.state === 'failed') {
    await reopen(c, 'reroute');
    const seq = await nextSeq(core.store, c.tx, c.item.id);
    const fresh = await flushAndRoute(c, {
      item: c.item,
      capability: step.capability,
      seq,
      now: c.now,
    });
    target_ = fresh.step;
    c.hops.push(...fresh.hops);
  } else if (step.state === 'claimed') {
    await requeueSteps(core.store, c.tx, [
      {
        stepId: step.id,
        queuedAt: c.now,
        rankAt: rankAt(c.now, step.priority),
        error: { reason: 'rerouted by an operator', nodeId: step.nodeId },
      },
    ]);
  }
  // Policies still apply: an operator may pick the node, not override a deny.
  const verdict = core.router.guard.evaluate(
    c.item,
    { id: target_.id, capability: target_.capability, seq: target_.seq, attempt: target_.attempt },
    [
      {
        node,
        proficiency: node.capabilities.find((x) => x.capability === target_.capability)?.proficiency ?? 0,
      },
    ],
  );
  const denied = verdict.excluded.find((x) => x.nodeId === nodeId);
  if (denied) {
    throw new FlowmeshError(
      'policy_denied',
      `policy keeps ${nodeId} from ${target_.capability}: ${denied.detail ?? denied.reason}`,
      {
        details: { ruleIds: denied.ruleIds ?? [] },
      },
    );
  }
  await updateRouting(core.store, c.tx, [
    { stepId: target_.id, eligibleNodes: [nodeId], exclusions: [], routing: 'routable', tier: target_.tier },
  ]);
  c.events.push({
    workItemId: c.item.id,
    stepId: target_.id,
    type: 'step.rerouted',
    data: { capability: target_.capability, nodeId, escalationId: c.escalation.id, by: c.principal.id },
    at: c.now,
  });
  c.woken.add(target_.capability);
}

export async function cancel(c: ActionContext, note: string | undefined): Promise<void> {
  requireOpenItem(c, 'cancel');
  const cancelled = await cancelOpenSteps(c.tx, c.item.id, c.now);
  await updateWorkItemState(c.tx, c.item.id, 'cancelled', c.now);
  for (const s of cancelled) {
    c.events.push({
      workItemId: c.item.id,
      stepId: s.id,
      type: 'step.cancelled',
      data: { capability: s.capability, nodeId: s.nodeId, reason: note ?? 'cancelled from escalation' },
      at: c.now,
    });
  }
  c.events.push({
    workItemId: c.item.id,
    stepId: null,
    type: 'work_item.cancelled',
    data: { by: c.principal.id, reason: note ?? null, escalationId: c.escalation.id },
    at: c.now,
  });
}

/** The person approves the escalated step: it completes on their authority and the item moves on. */
export async function approve(c: ActionContext, note: string | undefined): Promise<void> {
  requireOpenItem(c, 'approve');
  const { step, core } = c;
  if (!step || !OPEN_STEP.has(step.state)) {
    throw stale(
      c.escalation,
      step ? `step ${step.id} is already ${step.state}` : 'it names no step to approve',
      {
        stepState: step?.state ?? null,
      },
    );
  }
  const result: JsonObject = { approved: true, by: c.principal.id, note: note ?? null };
  await finishStep(core.store, c.tx, { stepId: step.id, state: 'completed', now: c.now, result });
  c.events.push({
    workItemId: c.item.id,
    stepId: step.id,
    type: 'step.completed',
    data: { approvedBy: c.principal.id, escalationId: c.escalation.id },
    at: c.now,
  });
  const required = core.router.guard.onComplete(c.item, step, result, {
    node: undefined,
    confidence: undefined,
  }).required;
  let seq = required.length ? await nextSeq(core.store, c.tx, c.item.id) : 0;
  for (const r of required) {
    c.routed.push(
      await flushAndRoute(c, {
        item: c.item,
        capability: r.capability,
        seq: seq++,
        now: c.now,
        data: { requiredBy: r.ruleIds.join(','), reason: r.reason },
      }),
    );
  }
  if (required.length === 0) {
    await updateItem(core.store, c.tx, { id: c.item.id, state: 'done', now: c.now, result });
    c.events.push({
      workItemId: c.item.id,
      stepId: null,
      type: 'work_item.done',
      data: { stepId: step.id },
      at: c.now,
    });
  }
}

/** The person refuses the work: open steps are cancelled and the item fails. */
export async function reject(c: ActionContext, note: string | undefined): Promise<void> {
  requireOpenItem(c, 'reject');
  const cancelled = await cancelOpenSteps(c.tx, c.item.id, c.now);
  for (const s of cancelled) {
    c.events.push({
      workItemId: c.item.id,
      stepId: s.id,
      type: 'step.cancelled',
      data: { capability: s.capability, nodeId: s.nodeId, reason: 'rejected' },
      at: c.now,
    });
  }
  const result: JsonObject = { rejected: true, by: c.principal.id, note: note ?? null };
  await updateItem(c.core.store, c.tx, { id: c.item.id, state: 'failed', now: c.now, result });
  c.events.push({
    workItemId: c.item.id,
    stepId: null,
    type: 'work_item.failed',
    data: { rejectedBy: c.principal.id, escalationId: c.escalation.id, note: note ?? null },
    at: c.now,
  });
}
