// Which of the network's nodes flowmesh runs itself, and the agents that run them.
import type { Tracer } from '@opentelemetry/api';
import type { Network } from '../capabilities/network-schema.js';
import type { BuiltInAgent } from './host.js';
import { createTriageNode, isTriageNode } from './triage/node.js';

export async function builtInAgents(network: Network, tracer?: Tracer): Promise<BuiltInAgent[]> {
  return Promise.all(
    network.nodes
      .filter(isTriageNode)
      .map((node) => createTriageNode({ node, capabilities: network.capabilities, tracer })),
  );
}
