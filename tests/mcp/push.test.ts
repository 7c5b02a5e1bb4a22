import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { callAgentTool } from '../../agents/mcp-push.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { mcpTestNetwork } from './network.js';

// An agent that is an MCP server itself: its `translate` tool records what flowmesh sent.
interface AgentCall {
  args: Record<string, unknown>;
  meta: Record<string, unknown> | undefined;
}
const calls: AgentCall[] = [];
let release: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

function agentServer(): McpServer {
  const server = new McpServer({ name: 'translator', version: '1.0.0' });
  server.registerTool(
    'translate',
    {
      description: 'Translate a text to German.',
      inputSchema: z.looseObject({ work_item_id: z.string(), step_id: z.string(), payload: z.unknown() }),
    },
    async (args, extra) => {
      calls.push({ args, meta: extra._meta });
      const text = (args.payload as { text?: string } | null)?.text ?? '';
      if (text === 'slow') await gate;
      if (text === 'hang') await new Promise(() => {});
      if (text === 'fail')
        return { isError: true, content: [{ type: 'text', text: 'no dictionary loaded' }] };
      return {
        content: [{ type: 'text', text: `Hallo (${text})` }],
        structuredContent: { translation: 'Hallo', confidence: 0.7 },
      };
    },
  );
  return server;
}

let agentUrl: string;
let stopAgent: () => Promise<void>;
let t: TestRuntime;

beforeAll(async () => {
  const http = serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (request) => {
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      await agentServer().connect(transport);
      return transport.handleRequest(request);
    },
  });
  await new Promise<void>((resolve) =>
    http.listening ? resolve() : http.once('listening', () => resolve()),
  );
  agentUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  stopAgent = () => new Promise((resolve) => http.close(() => resolve()));
  t = await createTestRuntime({ network: mcpTestNetwork(agentUrl) });
  // The runtime's background work: push dispatch through the MCP transport for nodes with `mcp`.
  t.runtime.startBackground();
});
afterAll(async () => {
  release();
  await t?.close();
  await stopAgent?.();
});

async function submit(text: string): Promise<{ id: string; traceId: string }> {
  const res = await t.request<{ id: string; traceId: string }>('POST', '/v1/work-items', {
    body: { kind: 'translation', capability: 'translate.text', payload: { text } },
  });
  expect(res.status).toBe(201);
  return res.body;
}

interface ItemView {
  state: string;
  steps: { state: string; nodeId: string | null; result: unknown; attempt: number }[];
}

async function itemOnceSettled(id: string, state: string): Promise<ItemView> {
  return vi.waitFor(
    async () => {
      const res = await t.request<ItemView>('GET', `/v1/work-items/${id}`);
      if (res.body.state !== state) throw new Error(`item is ${res.body.state}, waiting for ${state}`);
      return res.body;
    },
    { timeout: 10_000, interval: 20 },
  );
}

describe('push to an agent that is an MCP server', () => {
  it("calls the node's tool with the step and completes the step with its result", async () => {
    const item = await submit('hello');
    const done = await itemOnceSettled(item.id, 'done');
    expect(done.steps[0]).toMatchObject({
      state: 'completed',
      nodeId: 'translator',
      result: { translation: 'Hallo', confidence: 0.7 },
    });
    const call = calls.find((c) => c.args.work_item_id === item.id);
    expect(call?.args).toMatchObject({
      capability: 'translate.text',
      kind: 'translation',
      payload: { text: 'hello' },
    });
    // The agent's own spans can join the item's trace.
    expect(call?.meta?.traceparent).toMatch(new RegExp(`^00-${item.traceId}-`));
  });

  it('fails the step when the tool answers isError, and the item fails once attempts run out', async () => {
    const item = await submit('fail');
    const failed = await itemOnceSettled(item.id, 'failed');
    expect(failed.steps[0]).toMatchObject({ state: 'failed', attempt: 2 });
    expect(calls.filter((c) => c.args.work_item_id === item.id)).toHaveLength(2);
    const events = await t.request<{ events: { type: string; data: { reason?: string } }[] }>(
      'GET',
      `/v1/work-items/${item.id}/events`,
    );
    const reasons = events.body.events.filter((e) => e.type === 'step.failed').map((e) => e.data.reason);
    expect(reasons[0]).toContain('no dictionary loaded');
  });

  it('gives up on an agent that does not answer within the timeout, as a retryable failure', async () => {
    const outcome = await callAgentTool(
      { url: agentUrl, tool: 'translate' },
      {
        work_item_id: 'x',
        step_id: 'y',
        capability: 'translate.text',
        kind: 'translation',
        title: null,
        payload: { text: 'hang' },
        attributes: {},
        attempt: 1,
        deadline: new Date().toISOString(),
      },
      { timeoutMs: 300 },
    );
    expect(outcome).toEqual({
      kind: 'failed',
      retryable: true,
      reason: "the agent's MCP server did not answer within 300 ms",
    });
  });

  it('reports an unreachable agent as a retryable failure instead of throwing', async () => {
    const outcome = await callAgentTool(
      { url: 'http://127.0.0.1:9/mcp', tool: 'translate' },
      {
        work_item_id: 'x',
        step_id: 'y',
        capability: 'translate.text',
        kind: 'translation',
        title: null,
        payload: null,
        attributes: {},
        attempt: 1,
        deadline: new Date().toISOString(),
      },
      { timeoutMs: 2_000 },
    );
    expect(outcome).toMatchObject({ kind: 'failed', retryable: true });
  });
});

describe('push capacity', () => {
  it('never sends a node more steps at once than its capacity', async () => {
    const c = await createTestRuntime({ network: mcpTestNetwork(agentUrl) });
    try {
      gate = new Promise((resolve) => {
        release = resolve;
      });
      const before = calls.length;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await c.request<{ id: string }>('POST', '/v1/work-items', {
          body: { kind: 'translation', capability: 'translate.text', payload: { text: 'slow' } },
        });
        ids.push(res.body.id);
      }
      // Three steps are queued before dispatch starts; the node (capacity 2) gets two of them.
      c.runtime.startBackground();
      await vi.waitFor(() => expect(calls.length - before).toBe(2), { timeout: 10_000, interval: 20 });
      const sent = new Set(calls.slice(before).map((call) => call.args.work_item_id));
      const waiting = ids.filter((id) => !sent.has(id));
      expect(waiting).toHaveLength(1);
      const third = await c.request<ItemView>('GET', `/v1/work-items/${waiting[0]}`);
      expect(third.body.steps[0]?.state).toBe('queued');
      release();
      for (const id of ids) {
        await vi.waitFor(
          async () => {
            const res = await c.request<ItemView>('GET', `/v1/work-items/${id}`);
            expect(res.body.state).toBe('done');
          },
          { timeout: 15_000, interval: 50 },
        );
      }
    } finally {
      release();
      await c.close();
    }
  });
});
