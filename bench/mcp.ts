import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NetworkSchema } from '../capabilities/network-schema.js';
import { submitWorkItem } from '../capabilities/work-items.js';
import { parseConfig } from '../server/config.js';
import { createRuntime, type Runtime } from '../server/runtime.js';
import { type Db, percentile, prepareDatabase } from './support.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 8);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 400);
const WARMUP_ITEMS = Number(process.env.BENCH_WARMUP_ITEMS ?? 40);
const ADMIN_KEY = `bench-admin-${crypto.randomUUID()}`;

function print(db: Db, figure: string, value: number): void {
  const rounded = Math.round(value * 100) / 100;
  process.stdout.write(`${JSON.stringify({ bench: 'mcp', db, agents: AGENTS, figure, value: rounded })}\n`);
}

const network = NetworkSchema.parse({
  capabilities: [{ id: 'kb.answer', description: 'Answer a question.', leaseSeconds: 300 }],
  nodes: Array.from({ length: AGENTS }, (_, i) => ({
    id: `agent-${i + 1}`,
    name: `Agent ${i + 1}`,
    kind: 'ai_agent',
    capacity: 4,
    capabilities: [{ capability: 'kb.answer' }],
  })),
});

async function queueItems(runtime: Runtime, n: number): Promise<void> {
  const principal = (await runtime.auth.authenticate(ADMIN_KEY))!;
  for (let i = 0; i < n; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, j) =>
        submitWorkItem(runtime, principal, {
          kind: 'support.question',
          capability: 'kb.answer',
          payload: { question: `Where is order ${i + j}?` },
        }),
      ),
    );
  }
}

interface Claim {
  workItem: { id: string };
  step: { id: string };
  lease: { token: string };
}

/** One agent's loop: claim, complete, until there is nothing left; returns each loop's duration in ms. */
type Agent = () => Promise<number[]>;

function mcpAgent(url: string, key: string): { start(): Promise<Agent>; close(): Promise<void> } {
  const client = new Client({ name: 'bench-agent', version: '0.1.0' });
  return {
    async start() {
      await client.connect(
        new StreamableHTTPClientTransport(new URL('/mcp', url), {
          requestInit: { headers: { authorization: `Bearer ${key}` } },
        }),
      );
      return async () => {
        const times: number[] = [];
        for (;;) {
          const t0 = performance.now();
          const claimed = (await client.callTool({ name: 'claim_work', arguments: {} })) as CallToolResult;
          if (claimed.isError) throw new Error(JSON.stringify(claimed.content));
          const claim = (claimed.structuredContent as { claim: Claim | null }).claim;
          if (!claim) return times;
          const done = (await client.callTool({
            name: 'complete_work',
            arguments: {
              work_item_id: claim.workItem.id,
              step_id: claim.step.id,
              lease_token: claim.lease.token,
              result: { answer: 'It ships tomorrow.' },
            },
            _meta: { traceparent: claimed._meta?.traceparent },
          })) as CallToolResult;
          if (done.isError) throw new Error(JSON.stringify(done.content));
          times.push(performance.now() - t0);
        }
      };
    },
    close: () => client.close(),
  };
}

function httpAgent(url: string, key: string, nodeId: string): Agent {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  return async () => {
    const times: number[] = [];
    for (;;) {
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/nodes/${nodeId}/claims`, { method: 'POST', headers, body: '{}' });
      if (res.status === 204) return times;
      if (res.status !== 200) throw new Error(`claim answered ${res.status}: ${await res.text()}`);
      const claim = (await res.json()) as Claim;
      const done = await fetch(`${url}/v1/work-items/${claim.workItem.id}/complete`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          stepId: claim.step.id,
          leaseToken: claim.lease.token,
          result: { answer: 'It ships tomorrow.' },
        }),
      });
      if (done.status !== 200) throw new Error(`complete answered ${done.status}: ${await done.text()}`);
      await done.arrayBuffer();
      times.push(performance.now() - t0);
    }
  };
}

async function timeRound(agents: Agent[]): Promise<{ loops: number; seconds: number; times: number[] }> {
  const t0 = performance.now();
  const results = await Promise.all(agents.map((a) => a()));
  const seconds = (performance.now() - t0) / 1000;
  const times = results.flat().sort((a, b) => a - b);
  return { loops: times.length, seconds, times };
}

async function bench(db: Db): Promise<void> {
  const database = await prepareDatabase(db, 'mcp');
  const config = parseConfig({
    ...database.env,
    FLOWMESH_ADMIN_KEY: ADMIN_KEY,
    FLOWMESH_LOG_LEVEL: 'silent',
    OTEL_SDK_DISABLED: 'true',
    PORT: '0',
  });
  const runtime = await createRuntime(config, { network, policies: [] });
  const server = await new Promise<{ url: string; close(): Promise<void> }>((resolve) => {
    const s = serve({ fetch: runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise((done) => s.close(() => done())),
      }),
    );
  });
  try {
    const keys = await Promise.all(
      network.nodes.map((n) => runtime.auth.create({ name: `bench ${n.id}`, role: 'agent', nodeId: n.id })),
    );

    const httpAgents = keys.map((k, i) => httpAgent(server.url, k.key, network.nodes[i]!.id));
    const clients = keys.map((k) => mcpAgent(server.url, k.key));
    const mcpAgents = await Promise.all(clients.map((c) => c.start()));
    // Warm up both paths (JIT, connection pools) before anything is timed.
    for (const agents of [httpAgents, mcpAgents]) {
      await queueItems(runtime, WARMUP_ITEMS);
      await timeRound(agents);
    }
    await queueItems(runtime, ITEMS);
    const http = await timeRound(httpAgents);
    await queueItems(runtime, ITEMS);
    const mcp = await timeRound(mcpAgents);
    await Promise.all(clients.map((c) => c.close()));

    print(db, 'http_loops_per_s', http.loops / http.seconds);
    print(db, 'http_loop_p50_ms', percentile(http.times, 50));
    print(db, 'http_loop_p99_ms', percentile(http.times, 99));
    print(db, 'mcp_loops_per_s', mcp.loops / mcp.seconds);
    print(db, 'mcp_loop_p50_ms', percentile(mcp.times, 50));
    print(db, 'mcp_loop_p99_ms', percentile(mcp.times, 99));
    print(db, 'mcp_to_http_ratio', mcp.loops / mcp.seconds / (http.loops / http.seconds));
    if (http.loops !== ITEMS || mcp.loops !== ITEMS) {
      throw new Error(`expected ${ITEMS} loops each, got http ${http.loops}, mcp ${mcp.loops}`);
    }
  } finally {
    await server.close();
    await runtime.close();
    await database.cleanup();
  }
}

await bench('pglite');
if (process.env.DATABASE_URL) await bench('postgres');
