// What completion policies do to an item: a step a policy required (an approval, a review) ends with
// `{approved, note?}` — approved continues the item, not approved ends it as `rejected`; new
// requirements are remembered with the rule that made them (a rule requires at most once per item,
// so rules cannot loop); and every completion decision is stored with its policy version.

import type { Database } from '../store/database.js';
import { findRequirements, insertDecisions, insertRequirements, listDecisions } from '../store/decisions.js';
import { finishStep, insertEscalations, insertEvents } from '../store/router.js';
import { cancelOpenSteps, findSteps, updateWorkItemState } from '../store/work-items.js';
import {
  type ApprovalResult,
  approvalOf,
  type DecisionRecord,
  newDecision,
  type RequirementRecord,
} from '../work/decision.js';
import { FlowmeshError } from '../work/errors.js';
import { type EscalationRecord, escalationOpenedEvent } from '../work/escalation.js';
import type { NewEvent } from '../work/events.js';
import { uuidv7 } from '../work/ids.js';
import type { JsonObject, JsonValue } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import { type StepRecord, stepView, type WorkItemRecord, workItemView } from '../work/records.js';
import { assertItemTransition } from '../work/state-machine.js';
import type { Step, WorkItem } from '../work/work-item.js';
import type { Core } from './core.js';
import type { AdmissionVerdict, PolicyTrace, RequiredStep } from './hooks.js';
import { policyEscalation, type RoutedStep } from './router.js';
import { getWorkItem } from './work-items.js';

export interface PolicyGate {
  /** Set when the completing step was required by a policy. */
  requirement: RequirementRecord | undefined;
  approval: ApprovalResult | undefined;
  rejected: boolean;
  /** False while other steps of the item (another approval or review) are still open. */
  mayFinish: boolean;
  /** The item's result when it finishes: after an approval, the result of the step that needed it. */
  result(stepResult: JsonValue | null): JsonValue | null;
  /** Removes, in place, requirements a rule already made for this item. */
  dropRepeated(required: RequiredStep[]): void;
  /** The completion decision's id, taken before the steps it requires are routed, so it sorts first. */
  decisionId: string;
}

const OPEN = new Set(['queued', 'claimed']);

/** Reads the item's requirements; refuses a required step's result that is not `{approved, note?}`. */
export async function policyGate(
  core: Core,
  tx: Database,
  item: WorkItemRecord,
  step: StepRecord,
  result: JsonValue | null,
): Promise<PolicyGate> {
  const requirements = await findRequirements(core.store, tx, item.id);
  const decisionId = uuidv7(core.clock.now().getTime());
  if (requirements.length === 0) {
    return {
      decisionId,
      requirement: undefined,
      approval: undefined,
      rejected: false,
      mayFinish: true,
      result: (r) => r,
      dropRepeated: () => {},
    };
  }
  const requirement = requirements.find((r) => r.stepId === step.id);
  const approval = requirement ? approvalOf(result) : undefined;
  if (requirement && !approval) {
    throw new FlowmeshError(
      'invalid',
      `step ${step.id} is a ${requirement.capability} step required by policy ${requirement.ruleId}; ` +
        'complete it with result {"approved": true|false, "note": "…"}',
      { errors: [{ path: 'result', message: 'must be {approved: boolean, note?: string}' }] },
    );
  }
  const steps = await findSteps(tx, [item.id]);
  const origin = requirement ? steps.find((s) => s.id === requirement.originStepId) : undefined;
  return {
    decisionId,
    requirement,
    approval,
    rejected: approval?.approved === false,
    mayFinish: !steps.some((s) => s.id !== step.id && OPEN.has(s.state)),
    result: (r) => (origin ? origin.result : r),
    dropRepeated(required) {
      const kept = required.filter((r) => !requirements.some((x) => r.ruleIds.includes(x.ruleId)));
      required.splice(0, required.length, ...kept);
    },
  };
}

/** A required step came back not approved: the step completes, the item's other open steps are cancelled, the item is rejected. */
export async function rejectItem(
  core: Core,
  tx: Database,
  input: { item: WorkItemRecord; step: StepRecord; gate: PolicyGate; result: JsonValue | null; now: Date },
): Promise<{ workItem: WorkItem; step: Step }> {
  const { item, step, gate, now } = input;
  const requirement = gate.requirement!;
  assertItemTransition(item.state, 'rejected', item.id);
  await finishStep(core.store, tx, { stepId: step.id, state: 'completed', now, result: input.result });
  const cancelled = await cancelOpenSteps(tx, item.id, now);
  const outcome: JsonObject = {
    rejected: true,
    by: requirement.capability,
    ruleId: requirement.ruleId,
    ...(gate.approval?.note ? { note: gate.approval.note } : {}),
  };
  await updateWorkItemState(tx, item.id, 'rejected', now, outcome);
  const events: NewEvent[] = [
    {
      workItemId: item.id,
      stepId: step.id,
      type: 'step.completed',
      data: { nodeId: step.nodeId, attempt: step.attempt },
      at: now,
    },
    ...cancelled.map((s) => ({
      workItemId: item.id,
      stepId: s.id,
      type: 'step.cancelled',
      data: {
        capability: s.capability,
        nodeId: s.nodeId,
        reason: `item rejected by ${requirement.capability}`,
      },
      at: now,
    })),
    {
      workItemId: item.id,
      stepId: null,
      type: 'work_item.rejected',
      data: { stepId: step.id, ...outcome },
      at: now,
    },
  ];
  await insertEvents(core.store, tx, events);
  await insertDecisions(core.store, tx, [
    newDecision({
      workItemId: item.id,
      stepId: step.id,
      hook: 'complete',
      outcome: 'rejected',
      policyVersion: requirement.policyVersion,
      ruleIds: [requirement.ruleId],
      details: {
        capability: step.capability,
        approval: { ...gate.approval! },
        cancelled: cancelled.map((s) => s.id),
      },
      at: now,
    }),
  ]);
  const steps = await findSteps(tx, [item.id]);
  const view = workItemView({ ...item, state: 'rejected', result: outcome, updatedAt: now }, steps);
  return { workItem: view, step: view.steps.find((s) => s.id === step.id) ?? stepView(step) };
}

/** Remembers the steps policies just required and stores the completion decision. */
export async function recordCompletion(
  core: Core,
  tx: Database,
  input: {
    item: WorkItemRecord;
    step: StepRecord;
    gate: PolicyGate;
    policy: PolicyTrace | undefined;
    required: readonly RequiredStep[];
    /** The steps routed for `required`, in the same order; none when the item's value stream routes them. */
    routed: readonly RoutedStep[];
    /**
     * A streamed item: its thread routes `required` as steps of the stream once this commits (it reads
     * them from this decision), so they are recorded here without steps.
     */
    deferred: boolean;
    confidence: number | undefined;
    now: Date;
  },
): Promise<void> {
  const { item, step, gate, policy, required, now } = input;
  const routed = input.deferred ? [] : input.routed.slice(-required.length || input.routed.length);
  const originStepId = gate.requirement?.originStepId ?? step.id;
  if (policy && required.length > 0 && !input.deferred) {
    await insertRequirements(
      core.store,
      tx,
      required.map((r, i) => ({
        stepId: routed[i]!.step.id,
        workItemId: item.id,
        ruleId: r.ruleIds[0] ?? 'unknown',
        capability: r.capability,
        originStepId,
        policyVersion: policy.version,
        createdAt: now,
      })),
    );
  }
  const escalation = policyEscalation(policy, {
    workItemId: item.id,
    stepId: step.id,
    hook: 'complete',
    now,
  });
  if (escalation) {
    await insertEscalations(core.store, tx, [escalation]);
    await insertEvents(core.store, tx, [escalationOpenedEvent(escalation)]);
  }
  if (!policy && !gate.requirement) return;
  const ruleIds = new Set(policy?.ruleIds ?? []);
  if (gate.requirement) ruleIds.add(gate.requirement.ruleId);
  await insertDecisions(core.store, tx, [
    {
      id: gate.decisionId,
      workItemId: item.id,
      stepId: step.id,
      hook: 'complete',
      outcome: required.length > 0 ? 'required' : gate.approval ? 'approved' : 'continued',
      policyVersion: policy?.version ?? gate.requirement!.policyVersion,
      ruleIds: [...ruleIds],
      details: {
        capability: step.capability,
        ...(input.confidence === undefined ? {} : { confidence: input.confidence }),
        required: required.map((r, i) => ({
          capability: r.capability,
          ruleId: r.ruleIds[0] ?? null,
          reason: r.reason,
          stepId: routed[i]?.step.id ?? null,
        })),
        ...(gate.approval ? { approval: { ...gate.approval } } : {}),
        escalations: (policy?.escalations ?? []).map((x) => ({ ...x })),
        failures: (policy?.failures ?? []).map((x) => ({ ...x })),
      },
      at: now,
    },
  ]);
}

/** GET /v1/work-items/:id/decisions: every decision about the item, oldest first. */
export async function listWorkItemDecisions(
  core: Core,
  principal: Principal,
  id: string,
): Promise<DecisionRecord[]> {
  await getWorkItem(core, principal, id);
  return listDecisions(core.store, core.store.db, id);
}

/** The admission decision and the escalation admission rules raised, to write with the item. */
export function admissionRecords(
  item: WorkItemRecord,
  admission: AdmissionVerdict,
  now: Date,
): { decision: DecisionRecord | undefined; escalation: EscalationRecord | undefined; events: NewEvent[] } {
  const policy = admission.policy;
  if (!policy) return { decision: undefined, escalation: undefined, events: [] };
  const decision = newDecision({
    workItemId: admission.allowed ? item.id : null,
    stepId: null,
    hook: 'admit',
    outcome: admission.allowed ? 'admitted' : 'denied',
    policyVersion: policy.version,
    ruleIds: policy.ruleIds,
    details: {
      kind: item.kind,
      createdBy: item.createdBy,
      ...(admission.allowed ? {} : { reason: admission.reason, deniedBy: admission.ruleIds }),
      escalations: policy.escalations.map((x) => ({ ...x })),
      failures: policy.failures.map((x) => ({ ...x })),
    },
    at: now,
  });
  const escalation = admission.allowed
    ? policyEscalation(policy, { workItemId: item.id, stepId: null, hook: 'admit', now })
    : undefined;
  return { decision, escalation, events: escalation ? [escalationOpenedEvent(escalation)] : [] };
}
