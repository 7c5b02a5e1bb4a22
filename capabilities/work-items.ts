// Work-item operations shared by every edge (HTTP now, MCP later): submit, read, list, cancel, events.
import { insertDecisions } from '../store/decisions.js';
import { releaseIdempotencyKey, reserveIdempotencyKey } from '../store/idempotency.js';
import {
  appendEvents,
  cancelOpenSteps,
  findSteps,
  findWorkItem,
  listEvents,
  listWorkItems,
  updateWorkItemState,
} from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import type { LoggedEvent, NewEvent } from '../work/events.js';
import { canonicalJson, sha256Hex } from '../work/hash.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from '../work/ids.js';
import { type Principal, seesAllItems } from '../work/principal.js';
import { type StepRecord, type WorkItemRecord, workItemView } from '../work/records.js';
import { assertItemTransition } from '../work/state-machine.js';
import { newSubmission } from '../work/submission.js';
import type { SubmitWorkItem, WorkItem, WorkItemState } from '../work/work-item.js';
import type { Core } from './core.js';
import { admissionRecords } from './policy-completion.js';
import { publishRouted, routeStep } from './router.js';

/** A crashed request's idempotency reservation is taken over after this long. */
const STALE_RESERVATION_MS = 60_000;

export type SubmitOutcome =
  | { kind: 'created'; item: WorkItem }
  | { kind: 'replayed'; status: number; body: unknown };

export interface SubmitOptions {
  idempotencyKey?: string | undefined;
  /** The caller's W3C traceparent: the item's trace continues it. */
  traceparent?: string | undefined;
}

export async function submitWorkItem(
  core: Core,
  principal: Principal,
  input: SubmitWorkItem,
  options: SubmitOptions = {},
): Promise<SubmitOutcome> {
  // An item that names no capability follows its kind's value stream, from the stream's first step;
  // an item that names one is a single step, as for kinds without a stream.
  const streamStart = input.capability ? undefined : core.router.streams?.firstStep(input.kind);
  const capability = input.capability ?? streamStart?.capability;
  if (!capability) {
    throw new FlowmeshError(
      'invalid',
      'capability is required: name the capability that should do this work',
      {
        errors: [{ path: 'capability', message: 'required until a value stream is defined for this kind' }],
      },
    );
  }
  if (!core.network.capabilities.some((c) => c.id === capability)) {
    throw new FlowmeshError('invalid', `unknown capability ${capability}; GET /v1/capabilities lists them`, {
      errors: [{ path: 'capability', message: `unknown capability ${capability}` }],
    });
  }

  const key = options.idempotencyKey;
  const now = core.clock.now();
  if (key !== undefined) {
    const requestHash = await sha256Hex(canonicalJson(input));
    const reservation = await reserveIdempotencyKey(core.store, {
      scope: principal.id,
      key,
      requestHash,
      now,
      ttlMs: core.idempotencyTtlMs,
      staleAfterMs: STALE_RESERVATION_MS,
    });
    if (reservation.outcome !== 'reserved') {
      if (reservation.requestHash !== requestHash) {
        throw new FlowmeshError(
          'idempotency_mismatch',
          `Idempotency-Key ${key} was already used with a different request body; use a new key for a new request`,
        );
      }
      if (reservation.outcome === 'in_flight') {
        throw new FlowmeshError(
          'idempotency_in_flight',
          `a request with Idempotency-Key ${key} is still being processed; retry after it finishes`,
        );
      }
      return { kind: 'replayed', status: reservation.status, body: reservation.body };
    }
  }

  const parent = parseTraceparent(options.traceparent);
  const traceparent = formatTraceparent({
    traceId: parent?.traceId ?? newTraceId(),
    spanId: newSpanId(),
    sampled: parent?.sampled ?? true,
  });
  const submission = newSubmission(input, { now, createdBy: principal.id, capability, traceparent });
  const admission = core.router.guard.admit(submission.item);
  const admitted = admissionRecords(submission.item, admission, now);
  if (!admission.allowed) {
    if (key !== undefined) await releaseIdempotencyKey(core.store.db, principal.id, key).catch(() => {});
    // A refusal is a decision too: stored (without an item) so it can be audited.
    if (admitted.decision) {
      await insertDecisions(core.store, core.store.db, [admitted.decision]).catch((error) =>
        core.logger.warn('could not store a refused admission', { error: String(error) }),
      );
    }
    throw new FlowmeshError('policy_denied', `the work item is not admitted: ${admission.reason}`, {
      details: {
        ruleIds: admission.ruleIds,
        ...(admission.policy ? { policyVersion: admission.policy.version } : {}),
        ...(admitted.decision ? { decisionId: admitted.decision.id } : {}),
      },
    });
  }
  // Eligibility is computed in memory and written with the step: submission stays one statement.
  const routed = submission.steps.map((s) => routeStep(core, submission.item, s, now));
  const steps = routed.map((r) => r.step);
  const view = workItemView(submission.item, steps);
  try {
    await core.router.submissions.add({
      item: submission.item,
      steps,
      events: [...submission.events, ...admitted.events, ...routed.flatMap((r) => r.events)],
      escalations: [
        ...(admitted.escalation ? [admitted.escalation] : []),
        ...routed.flatMap((r) => [r.escalation, r.policy.escalation].filter((x) => x !== undefined)),
      ],
      decisions: [admitted.decision, ...routed.map((r) => r.policy.decision)].filter((d) => d !== undefined),
      // Bound in the same statement: a claimer that completes the first step at once finds it a stream step.
      streamSteps: streamStart ? [{ stepKey: streamStart.key, stepId: steps[0]!.id }] : undefined,
      idempotency: key === undefined ? undefined : { scope: principal.id, key, status: 201, body: view },
    });
  } catch (error) {
    if (key !== undefined) await releaseIdempotencyKey(core.store.db, principal.id, key).catch(() => {});
    throw error;
  }
  publishRouted(core, routed);
  if (streamStart) {
    try {
      await core.router.streams?.submitted(submission.item);
    } catch (error) {
      // The item and its first step are written; its thread starts when the runtime next starts.
      core.logger.warn('value stream did not start after a submission', {
        workItemId: submission.item.id,
        error: String(error),
      });
    }
  }
  return { kind: 'created', item: view };
}

// Admins and operators see every item; other keys the items they submitted, and agent keys also
// the items their node holds or held (GET /v1/work-items/{id}, get_work_item and the MCP resource).
function canSee(principal: Principal, item: WorkItemRecord, steps: readonly StepRecord[] = []): boolean {
  if (seesAllItems(principal) || item.createdBy === principal.id) return true;
  return principal.nodeId !== null && steps.some((s) => s.nodeId === principal.nodeId);
}

function notFound(id: string): FlowmeshError {
  return new FlowmeshError('not_found', `work item ${id} does not exist (or is not visible to this key)`);
}

export async function getWorkItem(core: Core, principal: Principal, id: string): Promise<WorkItem> {
  const item = await findWorkItem(core.store.db, id);
  if (!item) throw notFound(id);
  const steps = await findSteps(core.store.db, [id]);
  if (!canSee(principal, item, steps)) throw notFound(id);
  return workItemView(item, steps);
}

export interface ListQuery {
  state?: WorkItemState | undefined;
  kind?: string | undefined;
  limit: number;
  /** The last id of the previous page. */
  after?: string | undefined;
}

export async function listWorkItemsFor(
  core: Core,
  principal: Principal,
  query: ListQuery,
): Promise<{ items: WorkItem[]; nextCursor: string | null }> {
  const rows = await listWorkItems(core.store.db, {
    state: query.state,
    kind: query.kind,
    createdBy: seesAllItems(principal) ? undefined : principal.id,
    beforeId: query.after,
    limit: query.limit,
  });
  const page = rows.slice(0, query.limit);
  const steps = await findSteps(
    core.store.db,
    page.map((r) => r.id),
  );
  const byItem = new Map<string, typeof steps>();
  for (const s of steps) byItem.set(s.workItemId, [...(byItem.get(s.workItemId) ?? []), s]);
  return {
    items: page.map((r) => workItemView(r, byItem.get(r.id) ?? [])),
    nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
  };
}

export async function cancelWorkItem(
  core: Core,
  principal: Principal,
  id: string,
  reason: string | undefined,
): Promise<WorkItem> {
  await core.store.transaction(async (tx) => {
    const item = await findWorkItem(tx, id, { forUpdate: true });
    if (!item || !canSee(principal, item)) throw notFound(id);
    if (item.state !== 'open') {
      throw new FlowmeshError('conflict', `work item ${id} is ${item.state} and cannot be cancelled`, {
        details: { state: item.state },
      });
    }
    assertItemTransition(item.state, 'cancelled', id);
    const now = core.clock.now();
    const cancelled = await cancelOpenSteps(tx, id, now);
    await updateWorkItemState(tx, id, 'cancelled', now);
    const events: NewEvent[] = cancelled.map((s) => ({
      workItemId: id,
      stepId: s.id,
      type: 'step.cancelled',
      data: { capability: s.capability, nodeId: s.nodeId, reason: reason ?? null },
      at: now,
    }));
    events.push({
      workItemId: id,
      stepId: null,
      type: 'work_item.cancelled',
      data: { by: principal.id, reason: reason ?? null },
      at: now,
    });
    await appendEvents(tx, events);
  });
  // No hop marks a cancellation; telemetry still closes the item's trace (its root span).
  core.router.hops.ended?.(id);
  return getWorkItem(core, principal, id);
}

export async function listWorkItemEvents(
  core: Core,
  principal: Principal,
  id: string,
  query: { afterId?: number | undefined; limit: number },
): Promise<LoggedEvent[]> {
  const item = await findWorkItem(core.store.db, id);
  if (!item || !canSee(principal, item)) throw notFound(id);
  return listEvents(core.store.db, id, query);
}
