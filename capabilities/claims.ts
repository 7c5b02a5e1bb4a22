// Pull claiming (late binding): a node with free capacity takes the best steps it is eligible for,
// under a lease; with `waitSeconds` the call long-polls until work arrives.
import type { StepWithItem } from '../store/router.js';
import { FlowmeshError } from '../work/errors.js';
import type { Principal } from '../work/principal.js';
import { stepView, workItemView } from '../work/records.js';
import { stepTraceparent } from '../work/trace-context.js';
import type { Step, WorkItem } from '../work/work-item.js';
import type { Core } from './core.js';
import type { NodeState } from './registry.js';
import { hop, safeRecord } from './router.js';

export interface ClaimInput {
  nodeId: string;
  /** How many steps to claim at most (within free capacity). */
  max?: number | undefined;
  /** Long-poll: wait up to this many seconds for work when there is none. */
  waitSeconds?: number | undefined;
  /** Ends a long-poll early (the client went away). */
  signal?: AbortSignal | undefined;
}

export interface Claim {
  workItem: Omit<WorkItem, 'steps'>;
  step: Step;
  lease: { token: string; expiresAt: string };
  /** The step's W3C trace context (the item's trace, under the step's work span): the claimer's spans join it. */
  traceparent: string;
}

/** Admins and operators may act for any node (human teams claim with operator keys); agent keys only for their own. */
export function assertActsFor(principal: Principal, nodeId: string): void {
  if (principal.role === 'admin' || principal.role === 'operator') return;
  if (principal.role === 'agent' && principal.nodeId === nodeId) return;
  throw new FlowmeshError(
    'forbidden',
    principal.role === 'agent'
      ? `this agent key acts for node ${principal.nodeId}, not ${nodeId}`
      : `role ${principal.role} may not act for nodes; use an operator key or the node's agent key`,
  );
}

export function requireNode(core: Core, nodeId: string): NodeState {
  const node = core.router.registry.node(nodeId);
  if (!node) throw new FlowmeshError('not_found', `node ${nodeId} does not exist; GET /v1/nodes lists them`);
  return node;
}

export function claimView(c: StepWithItem): Claim {
  const { steps: _steps, ...workItem } = workItemView(c.item, []);
  return {
    workItem,
    step: stepView(c.step),
    lease: { token: c.step.leaseToken ?? '', expiresAt: c.step.leaseExpiresAt?.toISOString() ?? '' },
    traceparent: stepTraceparent(c.item.traceparent, c.step.id, c.step.attempt),
  };
}

/** Claims for a node right now (no waiting): used by pull claims and by push dispatch. */
export async function claimNow(core: Core, node: NodeState, max: number): Promise<StepWithItem[]> {
  const now = core.clock.now();
  if (node.availability !== 'available') return [];
  if (node.trippedUntil && node.trippedUntil > now) return [];
  const registry = core.router.registry;
  const capabilities = registry.claimable(node.id).flatMap((id) => {
    const cap = registry.capability(id);
    return cap ? [{ id, leaseSeconds: cap.leaseSeconds }] : [];
  });
  if (capabilities.length === 0) return [];
  const claimed = await core.router.claims.claim({
    nodeId: node.id,
    capabilities,
    capacity: node.capacity,
    max,
    now,
  });
  for (const c of claimed) {
    core.router.claimed.remember(c);
    safeRecord(core, hop(c.item, c.step, 'wait', c.step.queuedAt, now, 'claimed', [], node));
  }
  return claimed;
}

export async function claimSteps(core: Core, principal: Principal, input: ClaimInput): Promise<Claim[]> {
  const node = requireNode(core, input.nodeId);
  assertActsFor(principal, node.id);
  if (node.mode === 'push') {
    throw new FlowmeshError('conflict', `node ${node.id} is a push node: flowmesh sends it its steps`);
  }
  const max = input.max ?? 1;
  const waitMs = Math.min(input.waitSeconds ?? 0, core.router.settings.maxClaimWaitSeconds) * 1000;
  const deadline = performance.now() + waitMs;
  const { wakeups, registry } = core.router;
  for (;;) {
    // A caller that went away gets nothing: a claim would hold work no one receives until its lease expires.
    if (input.signal?.aborted) return [];
    // The mark is taken before looking: work queued while the claim runs moves it, and the wait below
    // then returns at once. A claim that finds work (the common case under load) never waits, so it
    // sets up no timer and no listener.
    const capabilities = registry.claimable(node.id);
    const since = waitMs > 0 ? wakeups.mark(capabilities) : 0;
    // Re-read the node each round: availability or the breaker may have changed while waiting.
    const claimed = await claimNow(core, registry.node(node.id) ?? node, max);
    if (claimed.length > 0) return claimed.map(claimView);
    const left = deadline - performance.now();
    if (left <= 0 || input.signal?.aborted) return [];
    await wakeups.wait(capabilities, left, input.signal, since);
  }
}
