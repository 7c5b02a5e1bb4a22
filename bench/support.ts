// What the benchmarks share: a throw-away database (a temp PGlite folder, or a fresh PostgreSQL
// database dropped afterwards), serving a runtime on a random loopback port, and percentiles.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import postgres from 'postgres';
import type { Runtime } from '../server/runtime.js';

export type Db = 'pglite' | 'postgres';

export interface BenchDatabase {
  /** Environment for parseConfig: FLOWMESH_DATA_DIR or DATABASE_URL. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A fresh database for one run; `label` names it so leftovers are easy to tell apart. */
export async function prepareDatabase(db: Db, label: string): Promise<BenchDatabase> {
  if (db === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), `flowmesh-bench-${label}-`));
    return { env: { FLOWMESH_DATA_DIR: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('the PostgreSQL figures need DATABASE_URL');
  const name = `flowmesh_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    async cleanup() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** Serves the runtime's app on 127.0.0.1 at a random port. */
export function listen(runtime: Runtime): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

/** Nearest-rank percentile of an ascending list; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
