// The network as the router sees it, in memory: capabilities, nodes with their live state, and an
// index from capability to the nodes that provide it. Rebuilt on every change (changes are rare,
// reads are per step), and refreshed from the database by the sweeper so instances converge.
import type { Capability, Network, NetworkNode } from './network-schema.js';

export interface NodeState extends NetworkNode {
  /** While in the future the circuit breaker keeps the node out of routing. */
  trippedUntil: Date | null;
}

export interface Provider {
  node: NodeState;
  proficiency: number;
}

export interface Registry {
  readonly version: number;
  capability(id: string): Capability | undefined;
  capabilities(): readonly Capability[];
  node(id: string): NodeState | undefined;
  nodes(): readonly NodeState[];
  /** Nodes that list the capability. */
  providers(capability: string): readonly Provider[];
  /** Capabilities a node may claim: its own plus those whose fallback tiers name it. */
  claimable(nodeId: string): readonly string[];
  /** Replaces the whole network (start, refresh from the database). */
  load(capabilities: readonly Capability[], nodes: readonly NodeState[]): void;
  upsertNode(node: NodeState): void;
  removeNode(id: string): void;
  setTripped(id: string, until: Date | null): void;
}

export function createRegistry(network: Network): Registry {
  let caps = new Map<string, Capability>();
  let byId = new Map<string, NodeState>();
  let providers = new Map<string, Provider[]>();
  let claimable = new Map<string, string[]>();
  let version = 0;

  function reindex(): void {
    providers = new Map();
    claimable = new Map();
    for (const node of byId.values()) {
      const own: string[] = [];
      for (const c of node.capabilities) {
        let list = providers.get(c.capability);
        if (!list) {
          list = [];
          providers.set(c.capability, list);
        }
        list.push({ node, proficiency: c.proficiency });
        own.push(c.capability);
      }
      claimable.set(node.id, own);
    }
    for (const cap of caps.values()) {
      for (const tier of cap.fallbacks) {
        for (const id of tier.nodes) {
          const list = claimable.get(id);
          if (list && !list.includes(cap.id)) list.push(cap.id);
        }
      }
    }
    version++;
  }

  const registry: Registry = {
    get version() {
      return version;
    },
    capability: (id) => caps.get(id),
    capabilities: () => [...caps.values()],
    node: (id) => byId.get(id),
    nodes: () => [...byId.values()],
    providers: (capability) => providers.get(capability) ?? [],
    claimable: (nodeId) => claimable.get(nodeId) ?? [],
    load(capabilities, nodes) {
      caps = new Map(capabilities.map((c) => [c.id, c]));
      byId = new Map(nodes.map((n) => [n.id, n]));
      reindex();
    },
    upsertNode(node) {
      byId.set(node.id, node);
      reindex();
    },
    removeNode(id) {
      byId.delete(id);
      reindex();
    },
    setTripped(id, until) {
      const node = byId.get(id);
      if (!node) return;
      byId.set(id, { ...node, trippedUntil: until });
      reindex();
    },
  };
  registry.load(
    network.capabilities,
    network.nodes.map((n) => ({ ...n, trippedUntil: null })),
  );
  return registry;
}
