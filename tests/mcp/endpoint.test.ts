import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postMcp, problemOf, type ServedRuntime, serveTestRuntime, structured } from './support.js';

let t: ServedRuntime;
let refundAgentKey: string;
let agent: Client;

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

beforeAll(async () => {
  t = await serveTestRuntime();
  refundAgentKey = (await t.createKey('agent', 'refund-agent')).key;
  agent = await t.connect(refundAgentKey);
});
afterAll(async () => {
  await t?.close();
});

describe('MCP endpoint', () => {
  it('initializes as flowmesh with tools and resources and instructions for agents', () => {
    expect(agent.getServerVersion()?.name).toBe('flowmesh');
    expect(agent.getServerCapabilities()).toMatchObject({ tools: {}, resources: {} });
    expect(agent.getInstructions()).toContain('claim_work');
  });

  it('lists every tool with an object input schema and an output schema', async () => {
    const { tools } = await agent.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['list_capabilities', 'submit_work', 'get_work_item']));
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.description?.trim().length ?? 0).toBeGreaterThan(10);
    }
    const get = tools.find((tool) => tool.name === 'get_work_item');
    expect(get?.inputSchema.required).toEqual(['work_item_id']);
  });

  it('tells an agent which capabilities its node provides', async () => {
    const result = await agent.callTool({ name: 'list_capabilities', arguments: {} });
    const catalog = structured<{
      node: { id: string };
      capabilities: { id: string; proficiency: number | null }[];
    }>(result);
    expect(catalog.node.id).toBe('refund-agent');
    const mine = catalog.capabilities.filter((c) => c.proficiency !== null).map((c) => c.id);
    expect(mine.sort()).toEqual(['kb.answer', 'refund.assess']);
    expect(result.content).toEqual([expect.objectContaining({ type: 'text' })]);
  });

  it('reads the capabilities resource through the same catalog', async () => {
    const { resources } = await agent.listResources();
    expect(resources.map((r) => r.uri)).toContain('flowmesh://capabilities');
    const { resourceTemplates } = await agent.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate)).toContain('flowmesh://work-items/{id}');
    const read = await agent.readResource({ uri: 'flowmesh://capabilities' });
    const first = read.contents[0] as { text: string; mimeType: string };
    expect(first.mimeType).toBe('application/json');
    expect(JSON.parse(first.text).node.id).toBe('refund-agent');
  });

  it('answers malformed arguments with isError naming the field, and keeps serving', async () => {
    const result = await agent.callTool({
      name: 'get_work_item',
      arguments: { work_item_id: 42, extra: true },
    });
    const problem = problemOf(result);
    expect(problem.code).toBe('invalid');
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(['extra', 'work_item_id']);
    expect(JSON.stringify(result.content)).toContain('work_item_id');
    // The connection still works.
    expect(structured(await agent.callTool({ name: 'list_capabilities', arguments: {} }))).toHaveProperty(
      'node',
    );
  });

  it('answers odd arguments to every tool with a result or a named problem, never an internal error', async () => {
    const { tools } = await agent.listTools();
    const odd: unknown[] = [42, null, '', 'a'.repeat(10_000), {}, [], -1, 1e308, '\u0000'];
    for (const tool of tools) {
      const fields = Object.keys((tool.inputSchema.properties ?? {}) as Record<string, unknown>);
      const calls: Record<string, unknown>[] = [{}, { unknown_field: 1 }];
      for (const field of fields) {
        for (const value of odd) {
          // 42 is a fine long-poll: it would wait its 42 seconds.
          if (!(field.startsWith('wait') && value === 42)) calls.push({ [field]: value });
        }
      }
      for (const args of calls) {
        const result = (await agent.callTool({ name: tool.name, arguments: args })) as CallToolResult;
        if (!result.isError) continue;
        const code = problemOf(result).code;
        expect(code, `${tool.name} ${JSON.stringify(args).slice(0, 80)}`).not.toBe('internal');
      }
    }
    expect(structured(await agent.callTool({ name: 'list_capabilities', arguments: {} }))).toHaveProperty(
      'node',
    );
  });

  it('answers a missing work item with isError not_found', async () => {
    const result = await agent.callTool({
      name: 'get_work_item',
      arguments: { work_item_id: '01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d' },
    });
    expect(problemOf(result).code).toBe('not_found');
  });

  it('refuses a request without an API key with 401', async () => {
    const res = await postMcp(t.mcpUrl, initialize);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('refuses a wrong API key with 401, also through the SDK client', async () => {
    expect((await postMcp(t.mcpUrl, initialize, { authorization: 'Bearer fm_not-a-key' })).status).toBe(401);
    await expect(t.connect('fm_not-a-key')).rejects.toThrow(/401/);
  });

  it('refuses a browser Origin that is not allowed with 403, before looking at the key', async () => {
    const res = await postMcp(t.mcpUrl, initialize, {
      origin: 'https://evil.example',
      authorization: `Bearer ${refundAgentKey}`,
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'forbidden' });
    expect((await postMcp(t.mcpUrl, initialize, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('lets pages on localhost through the default allow-list', async () => {
    const res = await postMcp(t.mcpUrl, initialize, {
      origin: 'http://localhost:5173',
      authorization: `Bearer ${refundAgentKey}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(JSON.parse(res.text).result.serverInfo.name).toBe('flowmesh');
  });

  it('answers a body that is not JSON with a JSON-RPC parse error, not a crash', async () => {
    const res = await postMcp(t.mcpUrl, '{"jsonrpc":', { authorization: `Bearer ${refundAgentKey}` });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.code).toBe(-32700);
  });

  it('refuses a body over the limit with 413 before the transport reads it', async () => {
    const big = { ...initialize, params: { ...initialize.params, padding: 'x'.repeat(2 * 1024 * 1024) } };
    const res = await postMcp(t.mcpUrl, big, { authorization: `Bearer ${refundAgentKey}` });
    expect(res.status).toBe(413);
  });

  it('answers GET with 405: the endpoint is stateless and has no standalone stream', async () => {
    const res = await fetch(t.mcpUrl, {
      headers: { authorization: `Bearer ${refundAgentKey}`, accept: 'text/event-stream' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
