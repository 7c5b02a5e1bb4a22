// The router's decision for a new step: eligible nodes, exclusions, tier; no eligible node → the
// step is unroutable and a `no_capable_node` escalation is raised with the reason. Builds records
// only; callers write them in their own transaction, then call publishRouted after commit.
import { type CompletionWrite, type CompletionWritten, writeCompletions } from '../store/completion.js';
import type { Database } from '../store/database.js';
import { insertDecisions } from '../store/decisions.js';
import { createGroupCommit } from '../store/group-commit.js';
import { insertEscalations, insertEvents, insertSteps } from '../store/router.js';
import { insertSubmissions, type SubmissionRows } from '../store/work-items.js';
import { type DecisionRecord, newDecision } from '../work/decision.js';
import { type EscalationRecord, escalationOpenedEvent, newEscalation } from '../work/escalation.js';
import type { NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import { newStep, stepQueuedEvent } from '../work/submission.js';
import { createClaimBatches } from './claim-batches.js';
import { createClaimedSteps } from './claimed-steps.js';
import { type Core, DEFAULT_ROUTER_SETTINGS, type Router, type RouterSettings } from './core.js';
import { computeEligibility, type Eligibility } from './eligibility.js';
import {
  allowAllGuard,
  type HopRecord,
  type HopRecorder,
  noopHopRecorder,
  type PolicyTrace,
  type RouteGuard,
} from './hooks.js';
import { createNodeOutcomes } from './node-outcomes.js';
import { createRegistry } from './registry.js';
import { createWakeups } from './wakeups.js';

export interface RoutedStep {
  step: StepRecord;
  /** Routing events (widened, unroutable, escalation opened); not the step.queued event. */
  events: NewEvent[];
  escalation: EscalationRecord | undefined;
  hops: HopRecord[];
  /** The policy decision of this routing and the escalation its rules raised, to write with the step. */
  policy: { decision: DecisionRecord | undefined; escalation: EscalationRecord | undefined };
}

/** The stored route decision: eligible nodes and every exclusion with its reason, under the policy version. */
export function routeDecision(
  item: WorkItemRecord,
  step: StepRecord,
  e: Eligibility,
  now: Date,
): DecisionRecord | undefined {
  if (!e.policy) return undefined;
  return newDecision({
    workItemId: item.id,
    stepId: step.id,
    hook: 'route',
    outcome: e.routing === 'routable' ? 'routed' : 'unroutable',
    policyVersion: e.policy.version,
    ruleIds: e.policy.ruleIds,
    details: {
      capability: step.capability,
      tier: e.tier,
      eligible: e.eligibleNodes,
      exclusions: e.exclusions.map((x) => ({ ...x })),
      escalations: e.policy.escalations.map((x) => ({ ...x })),
      failures: e.policy.failures.map((x) => ({ ...x })),
    },
    at: now,
  });
}

/** One `policy` escalation for the rules of a decision that escalate (one per step and hook). */
export function policyEscalation(
  trace: PolicyTrace | undefined,
  at: { workItemId: string; stepId: string | null; hook: string; now: Date },
): EscalationRecord | undefined {
  if (!trace || trace.escalations.length === 0) return undefined;
  const order = ['low', 'medium', 'high', 'critical'] as const;
  const severity = trace.escalations.reduce(
    (s, e) => (order.indexOf(e.severity) > order.indexOf(s) ? e.severity : s),
    trace.escalations[0]!.severity,
  );
  return newEscalation({
    kind: 'policy',
    severity,
    workItemId: at.workItemId,
    stepId: at.stepId,
    reason: trace.escalations.map((e) => `${e.reason} (policy ${e.ruleId})`).join('; '),
    details: {
      hook: at.hook,
      policyVersion: trace.version,
      ruleIds: trace.escalations.map((e) => e.ruleId),
      escalations: trace.escalations.map((e) => ({ ...e })),
    },
    now: at.now,
  });
}

export function routeStep(core: Core, item: WorkItemRecord, step: StepRecord, now: Date): RoutedStep {
  const { registry, guard } = core.router;
  const e = computeEligibility({ registry, guard, item, step, tier: step.tier, now });
  const routed: StepRecord = {
    ...step,
    eligibleNodes: e.eligibleNodes,
    exclusions: e.exclusions,
    routing: e.routing,
    tier: e.tier,
  };
  const events: NewEvent[] = [];
  const routeHop = hop(
    item,
    routed,
    'route',
    now,
    now,
    e.routing === 'routable' ? 'routed' : 'unroutable',
    e.ruleIds,
  );
  // The decision on the span: who may take the step, who was left out and why, under which policy version.
  routeHop.attributes = {
    'flowmesh.route.eligible_nodes': e.eligibleNodes.join(','),
    'flowmesh.route.exclusions': JSON.stringify(e.exclusions),
    'flowmesh.route.tier': e.tier,
    ...(e.policy ? { 'flowmesh.policy.version': e.policy.version } : {}),
  };
  const hops: HopRecord[] = [routeHop];
  if (e.tier > step.tier) {
    events.push({
      workItemId: item.id,
      stepId: step.id,
      type: 'step.widened',
      data: {
        capability: step.capability,
        fromTier: step.tier,
        toTier: e.tier,
        why: 'lower tiers have no eligible node',
      },
      at: now,
    });
  }
  let escalation: EscalationRecord | undefined;
  if (e.routing === 'unroutable') {
    escalation = newEscalation({
      kind: 'no_capable_node',
      severity: 'high',
      workItemId: item.id,
      stepId: step.id,
      reason: e.reason ?? `no node may take ${step.capability}`,
      details: { capability: step.capability, exclusions: e.exclusions.map((x) => ({ ...x })) },
      now,
    });
    events.push({
      workItemId: item.id,
      stepId: step.id,
      type: 'step.unroutable',
      data: { capability: step.capability, reason: escalation.reason },
      at: now,
    });
    events.push(escalationOpenedEvent(escalation));
    hops.push(hop(item, routed, 'escalate', now, now, 'no_capable_node', e.ruleIds));
  }
  const decision = routeDecision(item, step, e, now);
  const policyX = policyEscalation(e.policy, { workItemId: item.id, stepId: step.id, hook: 'route', now });
  if (policyX) events.push(escalationOpenedEvent(policyX));
  return { step: routed, events, escalation, hops, policy: { decision, escalation: policyX } };
}

export function hop(
  item: WorkItemRecord,
  step: StepRecord,
  kind: HopRecord['hop'],
  startedAt: Date,
  endedAt: Date,
  outcome: string,
  policyIds: string[] = [],
  node?: { id: string; kind: HopRecord['nodeKind'] } | null,
): HopRecord {
  return {
    hop: kind,
    workItemId: item.id,
    workItemKind: item.kind,
    traceparent: item.traceparent,
    stepId: step.id,
    seq: step.seq,
    capability: step.capability,
    nodeId: node?.id ?? step.nodeId,
    nodeKind: node?.kind ?? null,
    attempt: step.attempt,
    startedAt,
    endedAt,
    outcome,
    ...(policyIds.length ? { policyIds } : {}),
  };
}

/** Creates, routes and writes a new step of an item inside `tx` (handoffs, required steps). */
export async function insertRoutedStep(
  core: Core,
  tx: Database,
  input: { item: WorkItemRecord; capability: string; seq: number; now: Date; data?: Record<string, string> },
): Promise<RoutedStep> {
  const step = newStep(input.item, input.capability, input.seq, input.now);
  const routed = routeStep(core, input.item, step, input.now);
  await insertSteps(core.store, tx, [routed.step]);
  const queued = stepQueuedEvent(routed.step);
  if (input.data) queued.data = { ...queued.data, ...input.data };
  await insertEvents(core.store, tx, [queued, ...routed.events]);
  const escalations = [routed.escalation, routed.policy.escalation].filter((x) => x !== undefined);
  if (escalations.length) await insertEscalations(core.store, tx, escalations);
  if (routed.policy.decision) await insertDecisions(core.store, tx, [routed.policy.decision]);
  return routed;
}

/** After commit: record the hops and wake claimers of the capabilities that got routable work. */
export function publishRouted(core: Core, routed: readonly RoutedStep[]): void {
  const caps = new Set<string>();
  for (const r of routed) {
    for (const h of r.hops) safeRecord(core, h);
    if (r.step.routing === 'routable') caps.add(r.step.capability);
  }
  if (caps.size) core.router.wakeups.queued(caps);
}

export function safeRecord(core: Core, h: HopRecord): void {
  try {
    core.router.hops.record(h);
  } catch (error) {
    core.logger.warn('hop recorder failed', { error: String(error), hop: h.hop });
  }
}

/** Builds the router's parts for a runtime; load the network into the database with syncNetwork. */
export function createRouter(deps: {
  store: Core['store'];
  logger: Core['logger'];
  network: Core['network'];
  settings?: Partial<RouterSettings>;
  guard?: RouteGuard;
  hops?: HopRecorder;
}): Router {
  const router: Router = {
    registry: createRegistry(deps.network),
    guard: deps.guard ?? allowAllGuard,
    hops: deps.hops ?? noopHopRecorder,
    wakeups: createWakeups({ store: deps.store, logger: deps.logger }),
    claimed: createClaimedSteps(),
    claims: createClaimBatches({ store: deps.store }),
    submissions: createGroupCommit<SubmissionRows>((batch) => insertSubmissions(deps.store, batch)),
    completions: createGroupCommit<CompletionWrite, CompletionWritten>((batch) =>
      writeCompletions(deps.store, batch),
    ),
    outcomes: createNodeOutcomes({
      store: deps.store,
      logger: deps.logger,
      windowSeconds: () => router.settings.breakerWindowSeconds,
    }),
    settings: { ...DEFAULT_ROUTER_SETTINGS, ...deps.settings },
  };
  return router;
}
