// A test runtime served over real HTTP (node:http on 127.0.0.1, a random port) and MCP clients for it.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Network } from '../../capabilities/network-schema.js';
import type { PolicySource } from '../../policies/compile.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

export interface ServedRuntime extends TestRuntime {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  mcpUrl: URL;
  /** A connected MCP client using `key` (an agent key bound to a node). */
  connect(key: string, headers?: Record<string, string>): Promise<Client>;
}

export async function serveTestRuntime(
  options: { network?: Network; env?: Record<string, string>; policies?: PolicySource[] } = {},
): Promise<ServedRuntime> {
  const t = await createTestRuntime(options);
  const server = serve({ fetch: t.runtime.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => {
    if (server.listening) resolve();
    else server.once('listening', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const mcpUrl = new URL('/mcp', baseUrl);
  const clients: Client[] = [];

  return {
    ...t,
    baseUrl,
    mcpUrl,
    async connect(key, headers = {}) {
      const client = new Client({ name: 'flowmesh-test-agent', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(mcpUrl, {
        requestInit: { headers: { authorization: `Bearer ${key}`, ...headers } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}

/** The problem document a failed tool call carries. */
export function problemOf(result: unknown): {
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
} {
  const r = result as CallToolResult;
  if (!r.isError) throw new Error(`expected a failed tool call, got ${JSON.stringify(r)}`);
  return (r._meta as { problem: { code: string; detail: string } }).problem;
}

export function structured<T = Record<string, unknown>>(result: unknown): T {
  const r = result as CallToolResult;
  if (r.isError) throw new Error(`tool call failed: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** A raw JSON-RPC POST to /mcp, for what the SDK client would never send. */
export async function postMcp(
  url: URL,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
