// What a caller may see of the network: every capability, and for a node-bound key which of them its
// node provides and how well. Read by GET-style edges (the MCP tool and resource) alike.
import type { JsonObject } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import type { Core } from './core.js';
import type { NodeKind } from './network-schema.js';

export interface CapabilityView {
  id: string;
  description: string;
  /** JSON Schema of the step's input (the item's payload), when the network declares one. */
  inputSchema: JsonObject | null;
  leaseSeconds: number;
  maxAttempts: number;
  /** The caller's node's proficiency 0..1, or null when its node does not provide the capability. */
  proficiency: number | null;
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

export function listCapabilitiesFor(core: Core, principal: Principal): CapabilityCatalog {
  const node = principal.nodeId ? core.network.nodes.find((n) => n.id === principal.nodeId) : undefined;
  const proficiency = new Map(node?.capabilities.map((c) => [c.capability, c.proficiency]) ?? []);
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
    capabilities: core.network.capabilities.map((c) => ({
      id: c.id,
      description: c.description,
      inputSchema: c.inputSchema ?? null,
      leaseSeconds: c.leaseSeconds,
      maxAttempts: c.maxAttempts,
      proficiency: proficiency.get(c.id) ?? null,
    })),
  };
}
