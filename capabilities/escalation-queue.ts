// The escalation queue for operators: list (most severe, then oldest), read, acknowledge, assign.
// Resolving with an action that moves the work lives in escalation-resolve.ts.
import type { Database } from '../store/database.js';
import { findEscalation, listEscalations, updateEscalation } from '../store/escalations.js';
import { insertEvents } from '../store/router.js';
import { FlowmeshError } from '../work/errors.js';
import type { EscalationRecord, EscalationSeverity, EscalationState } from '../work/escalation.js';
import type { JsonObject } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import type { Core } from './core.js';

export interface Escalation {
  id: string;
  kind: string;
  severity: EscalationSeverity;
  state: EscalationState;
  workItemId: string;
  stepId: string | null;
  reason: string;
  owner: string | null;
  details: JsonObject;
  resolution: JsonObject | null;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
}

export function escalationView(e: EscalationRecord): Escalation {
  return {
    id: e.id,
    kind: e.kind,
    severity: e.severity,
    state: e.state,
    workItemId: e.workItemId,
    stepId: e.stepId,
    reason: e.reason,
    owner: e.owner,
    details: e.details,
    resolution: e.resolution,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    resolvedAt: e.resolvedAt ? e.resolvedAt.toISOString() : null,
  };
}

export interface EscalationListQuery {
  /** Default: open and acknowledged (everything not resolved). */
  states?: EscalationState[] | undefined;
  kinds?: string[] | undefined;
  severities?: EscalationSeverity[] | undefined;
  workItemId?: string | undefined;
  limit: number;
}

export async function listEscalationQueue(core: Core, q: EscalationListQuery): Promise<Escalation[]> {
  const rows = await listEscalations(core.store, {
    states: q.states?.length ? q.states : ['open', 'acknowledged'],
    kinds: q.kinds ?? [],
    severities: q.severities ?? [],
    workItemId: q.workItemId,
    limit: q.limit,
  });
  return rows.map(escalationView);
}

function notFound(id: string): FlowmeshError {
  return new FlowmeshError('not_found', `escalation ${id} does not exist; GET /v1/escalations lists them`);
}

export async function getEscalation(core: Core, id: string): Promise<Escalation> {
  const e = await findEscalation(core.store, core.store.db, id);
  if (!e) throw notFound(id);
  return escalationView(e);
}

/** Locks an escalation that is not resolved yet; 404 / 409 otherwise. */
export async function lockUnresolved(core: Core, tx: Database, id: string): Promise<EscalationRecord> {
  const e = await findEscalation(core.store, tx, id, { forUpdate: true });
  if (!e) throw notFound(id);
  if (e.state === 'resolved') {
    throw new FlowmeshError(
      'conflict',
      `escalation ${id} was already resolved (${String(e.resolution?.action ?? 'resolved')} by ${String(e.resolution?.by ?? 'the router')})`,
      { details: { state: e.state, resolution: e.resolution } },
    );
  }
  return e;
}

/** Someone is looking at it: open → acknowledged, owned by the caller unless it has an owner. */
export async function acknowledgeEscalation(
  core: Core,
  principal: Principal,
  id: string,
): Promise<Escalation> {
  await core.store.transaction(async (tx) => {
    const e = await lockUnresolved(core, tx, id);
    if (e.state === 'acknowledged') return;
    const now = core.clock.now();
    await updateEscalation(core.store, tx, id, {
      state: 'acknowledged',
      owner: e.owner ?? principal.name,
      now,
    });
    await insertEvents(core.store, tx, [
      {
        workItemId: e.workItemId,
        stepId: e.stepId,
        type: 'escalation.acknowledged',
        data: { escalationId: id, kind: e.kind, by: principal.id, owner: e.owner ?? principal.name },
        at: now,
      },
    ]);
  });
  return getEscalation(core, id);
}

export async function assignEscalation(
  core: Core,
  principal: Principal,
  id: string,
  owner: string,
): Promise<Escalation> {
  await core.store.transaction(async (tx) => {
    const e = await lockUnresolved(core, tx, id);
    const now = core.clock.now();
    await updateEscalation(core.store, tx, id, { owner, now });
    await insertEvents(core.store, tx, [
      {
        workItemId: e.workItemId,
        stepId: e.stepId,
        type: 'escalation.assigned',
        data: { escalationId: id, kind: e.kind, by: principal.id, owner, previousOwner: e.owner },
        at: now,
      },
    ]);
  });
  return getEscalation(core, id);
}
