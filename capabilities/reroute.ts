// Re-routing queued steps: after a network change (availability, a new or deleted node, the circuit
// breaker) and when a fallback tier opens. A step that loses its last eligible node becomes
// unroutable (escalation); one that gains a node becomes routable again (its no_capable_node
// escalation is resolved). Every change is an event.
import type { Database } from '../store/database.js';
import { insertDecisions } from '../store/decisions.js';
import {
  findQueuedSteps,
  insertEscalations,
  insertEvents,
  type RoutingUpdate,
  resolveEscalations,
  updateRouting,
} from '../store/router.js';
import type { DecisionRecord } from '../work/decision.js';
import { type EscalationRecord, escalationOpenedEvent, newEscalation } from '../work/escalation.js';
import type { NewEvent } from '../work/events.js';
import type { Core } from './core.js';
import { computeEligibility } from './eligibility.js';
import type { HopRecord } from './hooks.js';
import { hop, routeDecision, safeRecord } from './router.js';

const PAGE = 1000;

export interface RerouteOutcome {
  changed: number;
  widened: number;
  /** Capabilities that got routable work (wake their claimers). */
  woken: Set<string>;
  hops: HopRecord[];
}

export async function rerouteQueued(
  core: Core,
  tx: Database,
  q: {
    capabilities: readonly string[];
    /** Only steps queued at or before this instant (fallback thresholds). */
    maxQueuedAt?: Date;
    /** Only steps below this tier, and route them at this tier (opening a fallback tier). */
    openTier?: number;
  },
): Promise<RerouteOutcome> {
  const { registry, guard } = core.router;
  const out: RerouteOutcome = { changed: 0, widened: 0, woken: new Set(), hops: [] };
  let afterId: string | undefined;
  for (;;) {
    const page = await findQueuedSteps(core.store, tx, {
      capabilities: q.capabilities,
      afterId,
      limit: PAGE,
      ...(q.maxQueuedAt ? { maxQueuedAt: q.maxQueuedAt } : {}),
      ...(q.openTier !== undefined ? { belowTier: q.openTier } : {}),
    });
    if (page.length === 0) break;
    afterId = page.at(-1)?.step.id;
    const now = core.clock.now();
    const updates: RoutingUpdate[] = [];
    const escalations: EscalationRecord[] = [];
    const events: NewEvent[] = [];
    const nowRoutable: string[] = [];
    const decisions: DecisionRecord[] = [];
    for (const { step, item } of page) {
      const tier = Math.max(step.tier, q.openTier ?? 0);
      const e = computeEligibility({ registry, guard, item, step, tier, now });
      const same =
        e.routing === step.routing &&
        e.tier === step.tier &&
        e.eligibleNodes.length === step.eligibleNodes.length &&
        e.eligibleNodes.every((n, i) => n === step.eligibleNodes[i]) &&
        JSON.stringify(e.exclusions) === JSON.stringify(step.exclusions);
      if (same) continue;
      updates.push({
        stepId: step.id,
        eligibleNodes: e.eligibleNodes,
        exclusions: e.exclusions,
        routing: e.routing,
        tier: e.tier,
      });
      const decision = routeDecision(item, step, e, now);
      if (decision) decisions.push(decision);
      if (e.tier > step.tier) {
        out.widened++;
        events.push({
          workItemId: item.id,
          stepId: step.id,
          type: 'step.widened',
          data: {
            capability: step.capability,
            fromTier: step.tier,
            toTier: e.tier,
            eligibleNodes: e.eligibleNodes,
            why:
              q.openTier !== undefined
                ? 'waited past the fallback threshold'
                : 'lower tiers have no eligible node',
          },
          at: now,
        });
      } else {
        events.push({
          workItemId: item.id,
          stepId: step.id,
          type: 'step.rerouted',
          data: { capability: step.capability, eligibleNodes: e.eligibleNodes, routing: e.routing },
          at: now,
        });
      }
      if (e.routing === 'unroutable' && step.routing === 'routable') {
        const x = newEscalation({
          kind: 'no_capable_node',
          severity: 'high',
          workItemId: item.id,
          stepId: step.id,
          reason: e.reason ?? `no node may take ${step.capability}`,
          details: { capability: step.capability, exclusions: e.exclusions.map((v) => ({ ...v })) },
          now,
        });
        escalations.push(x);
        events.push(escalationOpenedEvent(x));
        out.hops.push(hop(item, step, 'escalate', now, now, 'no_capable_node', e.ruleIds));
      }
      if (e.routing === 'routable') {
        out.woken.add(step.capability);
        if (step.routing === 'unroutable') nowRoutable.push(step.id);
      }
    }
    if (updates.length > 0) {
      const done = new Set(await updateRouting(core.store, tx, updates));
      out.changed += done.size;
      await insertEvents(
        core.store,
        tx,
        events.filter((ev) => ev.stepId === null || done.has(ev.stepId)),
      );
      await insertEscalations(
        core.store,
        tx,
        escalations.filter((x) => x.stepId !== null && done.has(x.stepId)),
      );
      await insertDecisions(
        core.store,
        tx,
        decisions.filter((d) => d.stepId !== null && done.has(d.stepId)),
      );
      const resolved = await resolveEscalations(core.store, tx, {
        stepIds: nowRoutable.filter((id) => done.has(id)),
        kind: 'no_capable_node',
        now,
        resolution: { by: 'router', note: 'a node became eligible' },
      });
      await insertEvents(
        core.store,
        tx,
        resolved.map((r) => ({
          workItemId: String(r.work_item_id),
          stepId: String(r.step_id),
          type: 'escalation.resolved',
          data: { escalationId: String(r.id), by: 'router' },
          at: now,
        })),
      );
    }
    if (page.length < PAGE) break;
  }
  return out;
}

/** After commit: hops, and wake claimers of capabilities that got routable work. */
export function publishReroute(core: Core, out: RerouteOutcome): void {
  for (const h of out.hops) safeRecord(core, h);
  if (out.woken.size) core.router.wakeups.queued(out.woken);
}
