// What an agent sees of the network: every capability (the same listing as GET /v1/capabilities) and,
// for a node-bound key, which of them its node may claim and how well it does them.
import type { JsonObject } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import type { Core } from './core.js';
import { listCapabilities } from './network.js';
import type { NodeKind } from './network-schema.js';

export interface CapabilityView {
  id: string;
  description: string;
  /** JSON Schema of the step's input (the item's payload), when the network declares one. */
  inputSchema: JsonObject | null;
  leaseSeconds: number;
  maxAttempts: number;
  /** Steps queued at the capability now. */
  queueDepth: number;
  /** The caller's node's proficiency 0..1, or null when its node does not list the capability. */
  proficiency: number | null;
  /** Whether claim_work can give the caller's node steps of this capability (its own or a fallback tier). */
  claimable: boolean;
}

export interface CatalogNodeView {
  id: string;
  name: string;
  kind: NodeKind;
  capacity: number;
  mode: 'pull' | 'push';
  availability: string;
}

export interface CapabilityCatalog {
  /** The node the key acts for; null for keys bound to no node. */
  node: CatalogNodeView | null;
  capabilities: CapabilityView[];
}

export async function listCapabilitiesFor(core: Core, principal: Principal): Promise<CapabilityCatalog> {
  const registry = core.router.registry;
  const node = principal.nodeId ? registry.node(principal.nodeId) : undefined;
  const proficiency = new Map(node?.capabilities.map((c) => [c.capability, c.proficiency]) ?? []);
  const claimable = new Set(node ? registry.claimable(node.id) : []);
  const capabilities = await listCapabilities(core);
  return {
    node: node
      ? {
          id: node.id,
          name: node.name,
          kind: node.kind,
          capacity: node.capacity,
          mode: node.mode,
          availability: node.availability,
        }
      : null,
    capabilities: capabilities.map((c) => ({
      id: c.id,
      description: c.description,
      inputSchema: c.inputSchema ?? null,
      leaseSeconds: c.leaseSeconds,
      maxAttempts: c.maxAttempts,
      queueDepth: c.queueDepth,
      proficiency: proficiency.get(c.id) ?? null,
      claimable: claimable.has(c.id),
    })),
  };
}
