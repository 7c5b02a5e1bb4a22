// Agents and people raise an escalation with a reason: "I am not sure", "this needs a human". The HTTP
// route POST /v1/work-items/:id/escalate and the MCP `escalate` tool both call escalate().
import { listEscalations, openEscalations } from '../store/escalations.js';
import { insertEvents } from '../store/router.js';
import { findSteps, findWorkItem } from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import { type EscalationSeverity, escalationOpenedEvent, newEscalation } from '../work/escalation.js';
import { type Principal, seesAllItems } from '../work/principal.js';
import type { StepRecord } from '../work/records.js';
import type { Core } from './core.js';
import { type Escalation, escalationView } from './escalation-queue.js';
import { hop, safeRecord } from './router.js';

export const RAISED_KINDS = ['agent_escalated', 'low_confidence'] as const;
export type RaisedKind = (typeof RAISED_KINDS)[number];

export interface EscalateInput {
  workItemId: string;
  reason: string;
  severity?: EscalationSeverity | undefined;
  /** `low_confidence` when an agent is unsure of its own result; default `agent_escalated`. */
  kind?: RaisedKind | undefined;
  /** Default: the item's open step (queued or claimed), else its last step. */
  stepId?: string | undefined;
  /** An agent's confidence in its work, 0..1, kept with the escalation. */
  confidence?: number | undefined;
}

export interface EscalateOutcome {
  escalation: Escalation;
  /** False when the same kind of escalation was already open for the step: that one is returned. */
  created: boolean;
}

function pickStep(steps: readonly StepRecord[], stepId: string | undefined): StepRecord | undefined {
  if (stepId !== undefined) return steps.find((s) => s.id === stepId);
  const open = steps.filter((s) => s.state === 'queued' || s.state === 'claimed');
  return open.at(-1) ?? steps.at(-1);
}

export async function escalate(
  core: Core,
  principal: Principal,
  input: EscalateInput,
): Promise<EscalateOutcome> {
  const notFound = new FlowmeshError(
    'not_found',
    `work item ${input.workItemId} does not exist (or is not visible to this key)`,
  );
  const item = await findWorkItem(core.store.db, input.workItemId);
  if (!item) throw notFound;
  const steps = await findSteps(core.store.db, [item.id]);
  const heldByCaller = principal.nodeId !== null && steps.some((s) => s.nodeId === principal.nodeId);
  if (!seesAllItems(principal) && item.createdBy !== principal.id && !heldByCaller) throw notFound;
  if (item.state !== 'open') {
    throw new FlowmeshError(
      'conflict',
      `work item ${item.id} is ${item.state}; only open work can be escalated`,
      {
        details: { state: item.state },
      },
    );
  }
  const step = pickStep(steps, input.stepId);
  if (input.stepId !== undefined && !step) {
    throw new FlowmeshError('invalid', `step ${input.stepId} is not a step of work item ${item.id}`, {
      errors: [{ path: 'stepId', message: 'not a step of this work item' }],
    });
  }
  const kind = input.kind ?? 'agent_escalated';
  const now = core.clock.now();
  const record = newEscalation({
    kind,
    severity: input.severity ?? 'medium',
    workItemId: item.id,
    stepId: step?.id ?? null,
    reason: input.reason,
    details: {
      by: principal.id,
      role: principal.role,
      nodeId: principal.nodeId,
      ...(input.confidence === undefined ? {} : { confidence: input.confidence }),
    },
    now,
  });
  const written = await core.store.transaction(async (tx) => {
    const done = await openEscalations(core.store, tx, [record]);
    if (done.length) await insertEvents(core.store, tx, [escalationOpenedEvent(record)]);
    return done.length > 0;
  });
  if (written) {
    if (step) safeRecord(core, hop(item, step, 'escalate', now, now, kind));
    return { escalation: escalationView(record), created: true };
  }
  const [existing] = (
    await listEscalations(core.store, {
      states: ['open', 'acknowledged'],
      kinds: [kind],
      severities: [],
      workItemId: item.id,
      limit: 50,
    })
  ).filter((e) => e.stepId === (step?.id ?? null));
  if (!existing) throw new FlowmeshError('conflict', 'the escalation could not be opened; retry');
  return { escalation: escalationView(existing), created: false };
}
