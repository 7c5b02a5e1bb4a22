// The detectors the sweeper runs (under an advisory lock, on the injectable clock): SLA breached, SLA
// at risk, stuck, node down. Routing raises no_capable_node and retries_exhausted itself, policies
// raise `policy`, agents and people call escalate(). Each new escalation is an event and a hop.
//
// Expected durations come from the realized value stream (telemetry's span store, last 30 days):
// per capability, wait + work at the 85th percentile (SLA at risk) and the 95th (stuck). A capability
// with fewer than `minSamples` visits has no estimate; SLA at risk then falls back to the kind's lead
// time p85 minus the item's age, and stuck is not judged.
import { ADVISORY_LOCKS, tryAdvisoryXactLock } from '../store/advisory-locks.js';
import {
  type DueItemRow,
  findClaimedSteps,
  findOpenItemsWithDeadline,
  findOpenStepsSince,
  openEscalations,
} from '../store/escalations.js';
import { insertEvents } from '../store/router.js';
import { aggregateValueStream, type SqlValueStreamFacts } from '../store/value-stream-queries.js';
import { type EscalationRecord, escalationOpenedEvent, newEscalation } from '../work/escalation.js';
import type { Core } from './core.js';
import type { HopRecord } from './hooks.js';
import { safeRecord } from './router.js';

export interface DetectorOptions {
  /** A step is stuck when it is older than its capability's p95 (wait + work) times this. */
  stuckFactor?: number;
  /** A node holding a step is down when it showed no sign of life (claim, heartbeat) for this share of the lease. */
  nodeDownLeaseShare?: number;
  /** Visits of a capability needed before its percentiles are trusted. */
  minSamples?: number;
  /** How far back the value stream is read. */
  historyMs?: number;
  /** Rows examined per detector per run. */
  limit?: number;
}

export const DETECTOR_DEFAULTS = {
  stuckFactor: 3,
  nodeDownLeaseShare: 0.5,
  minSamples: 5,
  historyMs: 30 * 24 * 3600 * 1000,
  limit: 1000,
} as const;

export interface DetectorReport {
  locked: boolean;
  opened: { kind: string; workItemId: string; stepId: string | null }[];
}

interface Estimates {
  /** p85 and p95 of wait + work at a capability, or undefined without enough history. */
  step(capability: string): { p85: number; p95: number } | undefined;
  lead: { p85: number; count: number };
}

function estimatesFrom(facts: SqlValueStreamFacts, minSamples: number): Estimates {
  const byCap = new Map(facts.steps.map((s) => [s.capability, s]));
  return {
    step(capability) {
      const s = byCap.get(capability);
      if (!s || s.visits < minSamples) return undefined;
      return { p85: s.wait.p85 + s.work.p85, p95: s.wait.p95 + s.work.p95 };
    },
    lead: { p85: facts.lead.p85, count: facts.lead.count },
  };
}

/** Capabilities of the kind's value stream after `capability`, in the order the stream lists them. */
function laterCapabilities(core: Core, kind: string, capability: string): string[] {
  const stream = core.network.valueStreams.find((v) => v.kind === kind);
  if (!stream) return [];
  const at = stream.steps.findIndex((s) => s.capability === capability);
  return at < 0 ? [] : stream.steps.slice(at + 1).map((s) => s.capability);
}

/** Expected time until the item is done, or undefined when history does not say. */
export function expectedRemainingMs(
  core: Core,
  row: DueItemRow,
  estimates: Estimates,
  now: Date,
  minSamples: number,
): number | undefined {
  const here = estimates.step(row.capability);
  if (here) {
    const inStep = now.getTime() - row.queuedAt.getTime();
    let total = Math.max(0, here.p85 - inStep);
    for (const cap of laterCapabilities(core, row.kind, row.capability))
      total += estimates.step(cap)?.p85 ?? 0;
    return total;
  }
  if (estimates.lead.count >= minSamples)
    return Math.max(0, estimates.lead.p85 - (now.getTime() - row.createdAt.getTime()));
  return undefined;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * One run. Reads (and the value-stream estimates, which read the span store) happen first; the
 * escalations are then written under the detectors' advisory lock, where de-duplication is decided.
 */
export async function runDetectors(core: Core, options: DetectorOptions = {}): Promise<DetectorReport> {
  const o = { ...DETECTOR_DEFAULTS, ...options };
  const now = core.clock.now();
  const db = core.store.db;
  const [withDeadline, oldSteps, claimed] = await Promise.all([
    findOpenItemsWithDeadline(core.store, db, o.limit),
    findOpenStepsSince(core.store, db, now, o.limit),
    findClaimedSteps(core.store, db, o.limit),
  ]);
  const estimates = new Map<string, Estimates>();
  for (const kind of new Set([...withDeadline, ...oldSteps].map((r) => r.kind))) {
    const facts = await aggregateValueStream(
      core.store,
      kind,
      new Date(now.getTime() - o.historyMs),
      new Date(now.getTime() + 1),
    );
    estimates.set(kind, estimatesFrom(facts, o.minSamples));
  }
  const none: Estimates = { step: () => undefined, lead: { p85: 0, count: 0 } };
  const estimatesFor = (kind: string) => estimates.get(kind) ?? none;

  const candidates: { record: EscalationRecord; row: DueItemRow }[] = [];
  const raise = (
    row: DueItemRow,
    kind: string,
    severity: EscalationRecord['severity'],
    reason: string,
    details: Record<string, string | number | null>,
  ) =>
    candidates.push({
      row,
      record: newEscalation({
        kind,
        severity,
        workItemId: row.itemId,
        stepId: row.stepId,
        reason,
        details,
        now,
      }),
    });

  // SLA breached and at risk.
  for (const row of withDeadline) {
    if (row.dueAt.getTime() <= now.getTime()) {
      raise(
        row,
        'sla_breached',
        'critical',
        `due at ${row.dueAt.toISOString()} and not done (${minutes(now.getTime() - row.dueAt.getTime())} late)`,
        { dueAt: row.dueAt.toISOString(), capability: row.capability },
      );
      continue;
    }
    const remaining = expectedRemainingMs(core, row, estimatesFor(row.kind), now, o.minSamples);
    if (remaining !== undefined && now.getTime() + remaining > row.dueAt.getTime()) {
      raise(
        row,
        'sla_at_risk',
        'high',
        `expected to take ${minutes(remaining)} more (value stream p85) but due in ${minutes(row.dueAt.getTime() - now.getTime())}`,
        { dueAt: row.dueAt.toISOString(), expectedRemainingMs: remaining, capability: row.capability },
      );
    }
  }

  // Stuck: older than the capability's p95 × factor.
  for (const row of oldSteps) {
    const est = estimatesFor(row.kind).step(row.capability);
    if (!est) continue;
    const age = now.getTime() - row.queuedAt.getTime();
    const limit = est.p95 * o.stuckFactor;
    if (limit > 0 && age > limit) {
      raise(
        row,
        'stuck',
        'medium',
        `${row.capability} step has been ${row.stepState} for ${minutes(age)}; p95 is ${minutes(est.p95)}`,
        { ageMs: age, p95Ms: est.p95, factor: o.stuckFactor, state: row.stepState },
      );
    }
  }

  // Node down: a node holding a step showed no sign of life (claim, heartbeat) for a share of the lease.
  for (const row of claimed) {
    if (!row.nodeId || !row.leaseExpiresAt) continue;
    const leaseMs = (core.router.registry.capability(row.capability)?.leaseSeconds ?? 300) * 1000;
    const lastSign = Math.max(row.claimedAt?.getTime() ?? 0, row.leaseExpiresAt.getTime() - leaseMs);
    const silent = now.getTime() - lastSign;
    if (silent >= leaseMs * o.nodeDownLeaseShare) {
      raise(
        row,
        'node_down',
        'high',
        `node ${row.nodeId} holds this ${row.capability} step and has not been heard from for ${Math.round(silent / 1000)} s`,
        {
          nodeId: row.nodeId,
          lastSeenAt: new Date(lastSign).toISOString(),
          leaseExpiresAt: row.leaseExpiresAt.toISOString(),
        },
      );
    }
  }

  const written = await core.store.transaction(async (tx): Promise<EscalationRecord[] | undefined> => {
    if (!(await tryAdvisoryXactLock(tx, ADVISORY_LOCKS.escalationDetectors))) return undefined;
    const opened = await openEscalations(
      core.store,
      tx,
      candidates.map((c) => c.record),
    );
    await insertEvents(core.store, tx, opened.map(escalationOpenedEvent));
    return opened;
  });
  if (!written) return { locked: false, opened: [] };
  const ids = new Set(written.map((w) => w.id));
  for (const c of candidates) {
    if (!ids.has(c.record.id)) continue;
    const hop: HopRecord = {
      hop: 'escalate',
      workItemId: c.row.itemId,
      workItemKind: c.row.kind,
      traceparent: c.row.traceparent,
      stepId: c.row.stepId,
      seq: c.row.seq,
      capability: c.row.capability,
      nodeId: c.row.nodeId,
      nodeKind: c.row.nodeId ? (core.router.registry.node(c.row.nodeId)?.kind ?? null) : null,
      attempt: c.row.attempt,
      startedAt: now,
      endedAt: now,
      outcome: c.record.kind,
    };
    safeRecord(core, hop);
  }
  return {
    locked: true,
    opened: written.map((w) => ({ kind: w.kind, workItemId: w.workItemId, stepId: w.stepId })),
  };
}
