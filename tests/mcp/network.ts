// A small network for the MCP suites: two pull agents with different capabilities and a push agent.
import { type Network, NetworkSchema } from '../../capabilities/network-schema.js';

export function mcpTestNetwork(pushUrl = 'http://127.0.0.1:9/mcp'): Network {
  return NetworkSchema.parse({
    capabilities: [
      { id: 'kb.answer', description: 'Answer a question from the knowledge base.', leaseSeconds: 60 },
      { id: 'refund.assess', description: 'Assess a refund.', leaseSeconds: 60 },
      { id: 'translate.text', description: 'Translate a text.', leaseSeconds: 60, maxAttempts: 2 },
    ],
    nodes: [
      {
        id: 'kb-agent',
        name: 'Knowledge-base agent',
        kind: 'ai_agent',
        capacity: 4,
        capabilities: [{ capability: 'kb.answer', proficiency: 0.9 }],
      },
      {
        id: 'refund-agent',
        name: 'Refund agent',
        kind: 'ai_agent',
        capacity: 4,
        capabilities: [{ capability: 'refund.assess', proficiency: 0.8 }],
      },
      {
        id: 'translator',
        name: 'Translation agent (its own MCP server)',
        kind: 'ai_agent',
        mode: 'push',
        mcp: { url: pushUrl, tool: 'translate' },
        timeoutSeconds: 5,
        capacity: 2,
        capabilities: [{ capability: 'translate.text' }],
      },
    ],
  });
}
