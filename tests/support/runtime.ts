// A runtime for tests: its own database, a manual clock, the example network, and an HTTP helper
// that calls the app in-process (app.request, no socket).
import { loadNetworkFile } from '../../capabilities/network-file.js';
import type { Network } from '../../capabilities/network-schema.js';
import type { PolicySource } from '../../policies/compile.js';
import { parseConfig } from '../../server/config.js';
import type { DocsAssets } from '../../server/docs.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import { type ManualClock, manualClock } from '../../work/clock.js';
import type { Logger } from '../../work/logger.js';
import type { Role } from '../../work/principal.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** A raw body string, sent as is. */
  raw?: string;
  /** Bearer key; defaults to the admin key; null sends none. */
  key?: string | null;
  headers?: Record<string, string>;
}

export interface TestRuntime {
  runtime: Runtime;
  clock: ManualClock;
  database: TestDatabase;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: RequestOptions,
  ): Promise<TestResponse<T>>;
  createKey(role: Role, nodeId?: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

let exampleNetwork: Promise<Network> | undefined;
export function loadExampleNetwork(): Promise<Network> {
  exampleNetwork ??= loadNetworkFile('examples/network.yaml');
  return exampleNetwork;
}

export async function createTestRuntime(
  options: {
    network?: Network;
    clock?: ManualClock;
    env?: Record<string, string>;
    /** Rule files; default none, unless env names FLOWMESH_POLICIES. */
    policies?: PolicySource[];
    /** Swagger UI assets for /docs (none by default). */
    docsAssets?: DocsAssets;
    /** Where the runtime logs (silent by default). */
    logger?: Logger;
  } = {},
): Promise<TestRuntime> {
  const database = await createTestDatabase();
  const clock = options.clock ?? manualClock();
  const config = parseConfig({
    FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY,
    FLOWMESH_LOG_LEVEL: 'silent',
    ...options.env,
  });
  const runtime = await createRuntime(config, {
    store: database.store,
    clock,
    network: options.network ?? (await loadExampleNetwork()),
    policies: options.policies ?? (options.env?.FLOWMESH_POLICIES ? undefined : []),
    docsAssets: options.docsAssets,
    logger: options.logger,
  });

  async function request<T>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? TEST_ADMIN_KEY : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await runtime.app.request(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: leave the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  return {
    runtime,
    clock,
    database,
    request,
    async createKey(role, nodeId) {
      const res = await request<{ id: string; key: string }>('POST', '/v1/api-keys', {
        body: { name: `${role} key`, role, ...(nodeId ? { nodeId } : {}) },
      });
      if (res.status !== 201) throw new Error(`could not create key: ${res.status} ${res.text}`);
      return res.body;
    },
    async close() {
      await runtime.close();
      await database.drop();
    },
  };
}
