// Eligibility: which nodes may take a step, and why each node with the capability was left out.
// Pure and in memory (no I/O), so a submission stays one database round trip.
import type { Exclusion, StepRouting, WorkItemRecord } from '../work/records.js';
import type { GuardStep, PolicyTrace, RouteCandidate, RouteGuard } from './hooks.js';
import type { NodeState, Registry } from './registry.js';

export interface Eligibility {
  routing: StepRouting;
  eligibleNodes: string[];
  exclusions: Exclusion[];
  /** Fallback tiers open to the step; may be above the requested tier when lower tiers had nobody. */
  tier: number;
  /** Why nobody may take the step (set when `routing` is `unroutable`). */
  reason: string | null;
  /** Rule ids that took part in the decision. */
  ruleIds: string[];
  /** The policy version and rules of the decision (absent when no guard took part). */
  policy?: PolicyTrace | undefined;
}

function nodeExclusion(node: NodeState, now: Date): Exclusion | undefined {
  if (node.availability === 'away') return { nodeId: node.id, reason: 'away' };
  if (node.availability === 'draining') return { nodeId: node.id, reason: 'draining' };
  if (node.trippedUntil && node.trippedUntil.getTime() > now.getTime()) {
    return {
      nodeId: node.id,
      reason: 'circuit_open',
      detail: `recent failure rate over the threshold; skipped until ${node.trippedUntil.toISOString()}`,
    };
  }
  return undefined;
}

function atTier(
  registry: Registry,
  guard: RouteGuard,
  item: WorkItemRecord,
  step: GuardStep,
  tier: number,
  now: Date,
): Omit<Eligibility, 'routing' | 'reason' | 'tier'> {
  const capability = registry.capability(step.capability);
  const fallbacks = capability?.fallbacks ?? [];
  // Nodes named in a tier that is not open yet are held back even if they list the capability.
  const held = new Map<string, number>();
  for (let k = fallbacks.length - 1; k >= tier; k--) {
    for (const id of fallbacks[k]?.nodes ?? []) held.set(id, fallbacks[k]?.afterSeconds ?? 0);
  }
  const exclusions: Exclusion[] = [];
  const candidates: RouteCandidate[] = [];
  const seen = new Set<string>();
  const consider = (node: NodeState, proficiency: number) => {
    if (seen.has(node.id)) return;
    seen.add(node.id);
    const after = held.get(node.id);
    if (after !== undefined) {
      exclusions.push({
        nodeId: node.id,
        reason: 'fallback_tier',
        detail: `may claim after the step waited ${after} s`,
      });
      return;
    }
    const out = nodeExclusion(node, now);
    if (out) exclusions.push(out);
    else candidates.push({ node, proficiency });
  };
  for (const p of registry.providers(step.capability)) consider(p.node, p.proficiency);
  for (let k = 0; k < tier && k < fallbacks.length; k++) {
    for (const id of fallbacks[k]?.nodes ?? []) {
      const node = registry.node(id);
      if (node) consider(node, 0);
    }
  }
  if (candidates.length === 0) return { eligibleNodes: [], exclusions, ruleIds: [] };
  const verdict = guard.evaluate(item, step, candidates);
  const ruleIds = new Set<string>();
  for (const e of verdict.excluded) {
    exclusions.push(e);
    for (const r of e.ruleIds ?? []) ruleIds.add(r);
  }
  return {
    eligibleNodes: verdict.allowed.map((c) => c.node.id),
    exclusions,
    ruleIds: [...ruleIds],
    policy: verdict.policy,
  };
}

function describe(capability: string, exclusions: readonly Exclusion[]): string {
  if (exclusions.length === 0) return `no node provides capability ${capability}`;
  const parts = exclusions.map((e) => `${e.nodeId} ${e.reason}${e.detail ? ` (${e.detail})` : ''}`);
  return `no node may take ${capability}: ${parts.join('; ')}`;
}

/**
 * Eligible nodes for a step at `tier` (or the first wider tier that has any), or `unroutable` with
 * the reason when no tier has one.
 */
export function computeEligibility(input: {
  registry: Registry;
  guard: RouteGuard;
  item: WorkItemRecord;
  step: GuardStep;
  tier: number;
  now: Date;
}): Eligibility {
  const { registry, guard, item, step, now } = input;
  const tiers = registry.capability(step.capability)?.fallbacks.length ?? 0;
  let last: Omit<Eligibility, 'routing' | 'reason' | 'tier'> | undefined;
  for (let tier = Math.min(input.tier, tiers); tier <= tiers; tier++) {
    last = atTier(registry, guard, item, step, tier, now);
    if (last.eligibleNodes.length > 0) return { ...last, routing: 'routable', tier, reason: null };
  }
  const result = last ?? { eligibleNodes: [], exclusions: [], ruleIds: [] };
  return {
    ...result,
    routing: 'unroutable',
    tier: Math.min(input.tier, tiers),
    reason: describe(step.capability, result.exclusions),
  };
}
