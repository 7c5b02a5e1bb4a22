import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, TEST_ADMIN_KEY, type TestRuntime } from '../support/runtime.js';
import { problemOf, structured } from './support.js';

// The child process serves from its own database: the test database on PostgreSQL (so an agent key made
// here works there), an in-memory PGlite otherwise (where the admin key acts for the node).
let t: TestRuntime;
let key: string;

function environment(apiKey: string): Record<string, string> {
  const env: Record<string, string> = {
    // PATH, HOME and the like, as the SDK passes them to servers it starts.
    ...getDefaultEnvironment(),
    FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY,
    FLOWMESH_API_KEY: apiKey,
    FLOWMESH_LOG_LEVEL: 'silent',
    FLOWMESH_NETWORK: 'examples/network.yaml',
  };
  if (t.database.url) env.DATABASE_URL = t.database.url;
  else env.FLOWMESH_DATA_DIR = 'memory://';
  return env;
}

async function connect(node: string, apiKey: string): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['bin/flowmesh.js', 'mcp', '--node', node],
    env: environment(apiKey),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'stdio-test-agent', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

beforeAll(async () => {
  t = await createTestRuntime();
  key = t.database.url ? (await t.createKey('agent', 'refund-agent')).key : TEST_ADMIN_KEY;
});
afterAll(async () => {
  await t?.close();
});

describe('flowmesh mcp --node (stdio)', () => {
  it('serves the same tools over stdio, bound to the node', async () => {
    const { client } = await connect('refund-agent', key);
    try {
      expect(client.getServerVersion()?.name).toBe('flowmesh');
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(
        expect.arrayContaining(['list_capabilities', 'submit_work', 'get_work_item']),
      );
      const catalog = structured<{ node: { id: string } }>(
        await client.callTool({ name: 'list_capabilities', arguments: {} }),
      );
      expect(catalog.node.id).toBe('refund-agent');

      const submitted = structured<{ item: { id: string } }>(
        await client.callTool({
          name: 'submit_work',
          arguments: {
            kind: 'question',
            capability: 'kb.answer',
            payload: { question: 'Where is my order?' },
          },
        }),
      );
      const read = structured<{ item: { id: string; state: string } }>(
        await client.callTool({ name: 'get_work_item', arguments: { work_item_id: submitted.item.id } }),
      );
      expect(read.item).toMatchObject({ id: submitted.item.id, state: 'open' });

      const bad = await client.callTool({ name: 'get_work_item', arguments: {} });
      expect(problemOf(bad).errors?.[0]?.path).toBe('work_item_id');
    } finally {
      await client.close();
    }
  });

  it('refuses to start for a node the network does not have', async () => {
    await expect(connect('no-such-node', key)).rejects.toThrow();
  });
});
