// The network registry's operations: load the network file into the database at start, read and
// change nodes, and re-compute the eligibility of queued steps when the network changes.
import {
  deleteNode as deleteNodeRow,
  loadNetworkRows,
  setNodeAvailability as setAvailabilityRow,
  upsertCapabilities,
  upsertNode as upsertNodeRow,
} from '../store/network.js';
import {
  countHeld,
  eligibleDepths,
  findHeldSteps,
  insertEvents,
  queueStats,
  requeueSteps,
} from '../store/router.js';
import { FlowmeshError } from '../work/errors.js';
import type { Principal } from '../work/principal.js';
import type { Core } from './core.js';
import {
  type Availability,
  type Capability,
  CapabilitySchema,
  type Network,
  type NetworkNode,
  NodeSchema,
} from './network-schema.js';
import type { NodeState } from './registry.js';
import { publishReroute, rerouteQueued } from './reroute.js';

function assertManages(principal: Principal): void {
  if (principal.role !== 'admin' && principal.role !== 'operator') {
    throw new FlowmeshError(
      'forbidden',
      `managing nodes needs role admin or operator; the key has role ${principal.role}`,
    );
  }
}

function nodeRow(n: NetworkNode) {
  return {
    id: n.id,
    name: n.name,
    kind: n.kind,
    capabilities: n.capabilities,
    capacity: n.capacity,
    mode: n.mode,
    availability: n.availability,
    endpoint: n.endpoint ?? null,
    mcp: n.mcp,
    timeoutSeconds: n.timeoutSeconds,
    attributes: n.attributes,
  };
}

/**
 * Writes the network file into the database (file wins for definitions; a node's availability set
 * through the API survives a restart), then loads the registry from the database, which also brings
 * in nodes created through the API.
 */
export async function syncNetwork(core: Core, network: Network): Promise<void> {
  const now = core.clock.now();
  await core.store.transaction(async (tx) => {
    await upsertCapabilities(
      core.store,
      tx,
      network.capabilities.map((c) => ({ ...c, inputSchema: c.inputSchema })),
      now,
    );
    for (const n of network.nodes)
      await upsertNodeRow(core.store, tx, nodeRow(n), now, { keepAvailability: true });
  });
  await refreshRegistry(core);
}

/** Reloads the registry from the database (other instances' changes, breaker state). */
export async function refreshRegistry(core: Core): Promise<void> {
  const rows = await loadNetworkRows(core.store, core.store.db);
  const capabilities: Capability[] = [];
  for (const c of rows.capabilities) {
    const parsed = CapabilitySchema.safeParse({
      id: c.id,
      description: c.description,
      ...(c.inputSchema === undefined ? {} : { inputSchema: c.inputSchema }),
      maxAttempts: c.maxAttempts,
      leaseSeconds: c.leaseSeconds,
      fallbacks: c.fallbacks,
    });
    if (parsed.success) capabilities.push(parsed.data);
    else core.logger.warn('capability row does not validate; skipped', { id: c.id });
  }
  const nodes: NodeState[] = [];
  for (const n of rows.nodes) {
    const parsed = NodeSchema.safeParse({
      id: n.id,
      name: n.name,
      kind: n.kind,
      capabilities: n.capabilities,
      capacity: n.capacity,
      mode: n.mode,
      availability: n.availability,
      ...(n.endpoint ? { endpoint: n.endpoint } : {}),
      ...(n.mcp ? { mcp: n.mcp } : {}),
      timeoutSeconds: n.timeoutSeconds,
      attributes: n.attributes,
    });
    if (parsed.success) nodes.push({ ...parsed.data, trippedUntil: n.trippedUntil });
    else core.logger.warn('node row does not validate; skipped', { id: n.id });
  }
  core.router.registry.load(capabilities, nodes);
}

export interface NodeView extends NetworkNode {
  /** Steps the node holds now. */
  wip: number;
  /** Queued steps it may claim now. */
  queueDepth: number;
  health: { state: 'ok' | 'circuit_open'; trippedUntil: string | null };
}

function view(node: NodeState, wip: number, depth: number, now: Date): NodeView {
  const { trippedUntil, ...rest } = node;
  const open = trippedUntil !== null && trippedUntil > now;
  return {
    ...rest,
    wip,
    queueDepth: depth,
    health: { state: open ? 'circuit_open' : 'ok', trippedUntil: open ? trippedUntil.toISOString() : null },
  };
}

export async function listNodes(core: Core): Promise<NodeView[]> {
  const [held, depths] = await Promise.all([
    countHeld(core.store, core.store.db),
    eligibleDepths(core.store, core.store.db),
  ]);
  const now = core.clock.now();
  return core.router.registry.nodes().map((n) => view(n, held.get(n.id) ?? 0, depths.get(n.id) ?? 0, now));
}

export async function getNode(core: Core, id: string): Promise<NodeView> {
  const nodes = await listNodes(core);
  const found = nodes.find((n) => n.id === id);
  if (!found) throw new FlowmeshError('not_found', `node ${id} does not exist; GET /v1/nodes lists them`);
  return found;
}

export interface CapabilityView extends Capability {
  queueDepth: number;
  unroutable: number;
  oldestWaitSeconds: number | null;
  /** Nodes that may take its work now (tier 0), and those held back for fallback tiers. */
  eligibleNodes: string[];
}

export async function listCapabilities(core: Core): Promise<CapabilityView[]> {
  const stats = new Map((await queueStats(core.store, core.store.db)).map((s) => [s.capability, s]));
  const now = core.clock.now();
  const registry = core.router.registry;
  return registry.capabilities().map((c) => {
    const s = stats.get(c.id);
    const held = new Set(c.fallbacks.flatMap((f) => f.nodes));
    const eligible = registry
      .providers(c.id)
      .filter(
        (p) =>
          p.node.availability === 'available' &&
          !(p.node.trippedUntil && p.node.trippedUntil > now) &&
          !held.has(p.node.id),
      )
      .map((p) => p.node.id);
    return {
      ...c,
      queueDepth: s?.depth ?? 0,
      unroutable: s?.unroutable ?? 0,
      oldestWaitSeconds: s?.oldestQueuedAt
        ? Math.max(0, (now.getTime() - s.oldestQueuedAt.getTime()) / 1000)
        : null,
      eligibleNodes: eligible,
    };
  });
}

/** Creates or replaces a node; its queued work is re-routed. Returns whether it was created. */
export async function putNode(
  core: Core,
  principal: Principal,
  node: NetworkNode,
): Promise<{ created: boolean; node: NodeView }> {
  assertManages(principal);
  const registry = core.router.registry;
  node.capabilities.forEach((c, i) => {
    if (!registry.capability(c.capability)) {
      throw new FlowmeshError('invalid', `unknown capability ${c.capability}`, {
        errors: [{ path: `capabilities[${i}].capability`, message: `unknown capability ${c.capability}` }],
      });
    }
  });
  const before = registry.node(node.id);
  const now = core.clock.now();
  await upsertNodeRow(core.store, core.store.db, nodeRow(node), now, { keepAvailability: false });
  registry.upsertNode({ ...node, trippedUntil: before?.trippedUntil ?? null });
  const caps = new Set([
    ...node.capabilities.map((c) => c.capability),
    ...(before?.capabilities.map((c) => c.capability) ?? []),
  ]);
  await recomputeEligibility(core, caps);
  return { created: !before, node: await getNode(core, node.id) };
}

export async function setAvailability(
  core: Core,
  principal: Principal,
  id: string,
  availability: Availability,
): Promise<NodeView> {
  assertManages(principal);
  const registry = core.router.registry;
  const node = registry.node(id);
  if (!node) throw new FlowmeshError('not_found', `node ${id} does not exist; GET /v1/nodes lists them`);
  await setAvailabilityRow(core.store, core.store.db, id, availability, core.clock.now());
  registry.upsertNode({ ...node, availability });
  await recomputeEligibility(core, capabilitiesOf(core, node));
  return getNode(core, id);
}

/** Deletes a node: the steps it holds go back to their queues, queued work is re-routed. */
export async function deleteNode(core: Core, principal: Principal, id: string): Promise<void> {
  assertManages(principal);
  const registry = core.router.registry;
  const node = registry.node(id);
  if (!node) throw new FlowmeshError('not_found', `node ${id} does not exist; GET /v1/nodes lists them`);
  const now = core.clock.now();
  const requeued: string[] = [];
  await core.store.transaction(async (tx) => {
    const held = await findHeldSteps(core.store, tx, id);
    await requeueSteps(
      core.store,
      tx,
      held.map((h) => ({ stepId: h.step.id, queuedAt: h.step.queuedAt, rankAt: h.step.rankAt, error: null })),
    );
    await insertEvents(
      core.store,
      tx,
      held.map((h) => ({
        workItemId: h.item.id,
        stepId: h.step.id,
        type: 'step.requeued',
        data: { nodeId: id, reason: 'node deleted', nextAttempt: h.step.attempt + 1 },
        at: now,
      })),
    );
    for (const h of held) requeued.push(h.step.capability);
    await deleteNodeRow(core.store, tx, id);
  });
  const caps = capabilitiesOf(core, node);
  registry.removeNode(id);
  await recomputeEligibility(core, caps);
  if (requeued.length) core.router.wakeups.queued(requeued);
}

function capabilitiesOf(core: Core, node: NetworkNode): Set<string> {
  const caps = new Set(node.capabilities.map((c) => c.capability));
  for (const c of core.router.registry.capabilities()) {
    if (c.fallbacks.some((f) => f.nodes.includes(node.id))) caps.add(c.id);
  }
  return caps;
}

/** Re-computes eligibility of the queued steps of some capabilities (see rerouteQueued). */
export async function recomputeEligibility(core: Core, capabilities: Iterable<string>): Promise<number> {
  const caps = [...new Set(capabilities)];
  if (caps.length === 0) return 0;
  const out = await core.store.transaction((tx) => rerouteQueued(core, tx, { capabilities: caps }));
  publishReroute(core, out);
  return out.changed;
}

/** Node count and other facts for logs. */
export function describeNetwork(core: Core): { nodes: number; capabilities: number } {
  return {
    nodes: core.router.registry.nodes().length,
    capabilities: core.router.registry.capabilities().length,
  };
}
