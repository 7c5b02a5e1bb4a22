// A crash loses no accepted work: the real entry point (server/node.ts) in a child process takes
// submissions and claims under load, is killed with SIGKILL mid-stream, and started again on the same
// data. Every item that was answered 201 is there with its step, every claim that was answered 200 is
// still held by its node, and the restarted service takes new work.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inheritedEnvironment } from '../support/child-process.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/database.js';

const ADMIN = 'crash-test-admin-key-0123456789';

interface Running {
  child: ChildProcess;
  url: string;
}

function start(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/node.ts'], {
    env: {
      ...inheritedEnvironment(),
      DATABASE_URL: '',
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      FLOWMESH_ADMIN_KEY: ADMIN,
      FLOWMESH_LOG_LEVEL: 'info',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no start within 60 s:\n${out}\n${err}`)), 60_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('flowmesh listening'));
      if (!line) return;
      clearTimeout(timer);
      resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}

function kill(running: Running): Promise<void> {
  return new Promise((resolve) => {
    running.child.removeAllListeners('exit');
    running.child.once('exit', () => resolve());
    running.child.kill('SIGKILL');
  });
}

async function call(url: string, method: string, path: string, body?: unknown, key = ADMIN) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

let dataDir: string | undefined;
let database: TestDatabase | undefined;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

describe('a crash mid-load', () => {
  it('loses no item that was answered 201 and no claim that was answered 200', {
    timeout: 180_000,
  }, async () => {
    let env: Record<string, string>;
    if (onPostgres) {
      database = await createTestDatabase();
      env = { DATABASE_URL: database.url ?? '' };
    } else {
      dataDir = await mkdtemp(join(tmpdir(), 'flowmesh-crash-'));
      env = { FLOWMESH_DATA_DIR: dataDir };
    }
    const first = await start(env);
    // billing-team is a pull node in the example network with refund.assess.
    const agent = await call(first.url, 'POST', '/v1/api-keys', {
      name: 'crash agent',
      role: 'agent',
      nodeId: 'billing-team',
    });
    expect(agent.status).toBe(201);
    const agentKey = String(agent.body.key);

    const accepted = new Set<string>();
    const claimed = new Map<string, string>();
    let stop = false;
    const submitter = async () => {
      while (!stop) {
        try {
          const res = await call(first.url, 'POST', '/v1/work-items', {
            kind: 'refund',
            capability: 'refund.assess',
            payload: { amount: 42 },
          });
          if (res.status === 201) accepted.add(String(res.body.id));
        } catch {
          return; // the process is gone
        }
      }
    };
    const claimer = async () => {
      while (!stop) {
        try {
          const res = await call(first.url, 'POST', '/v1/nodes/billing-team/claims', {}, agentKey);
          if (res.status === 200) {
            const step = res.body.step as { id: string };
            claimed.set(step.id, String((res.body.workItem as { id: string }).id));
          }
        } catch {
          return;
        }
      }
    };
    const load = Promise.all([...Array.from({ length: 6 }, submitter), claimer()]);
    // Let work flow, then kill the process while requests are in flight.
    while (accepted.size < 150) await new Promise((r) => setTimeout(r, 20));
    await kill(first);
    stop = true;
    await load;
    expect(accepted.size).toBeGreaterThanOrEqual(150);

    const second = await start(env);
    try {
      const missing: string[] = [];
      for (const id of accepted) {
        const res = await call(second.url, 'GET', `/v1/work-items/${id}`);
        if (res.status !== 200) missing.push(id);
        else expect((res.body.steps as unknown[]).length).toBeGreaterThanOrEqual(1);
      }
      expect(missing).toEqual([]);
      for (const [stepId, itemId] of claimed) {
        const res = await call(second.url, 'GET', `/v1/work-items/${itemId}`);
        const step = (res.body.steps as { id: string; state: string; nodeId: string | null }[]).find(
          (s) => s.id === stepId,
        );
        // Held by its node until its lease ends (the sweeper then returns it to the queue).
        expect(step).toMatchObject({ state: 'claimed', nodeId: 'billing-team' });
      }
      const after = await call(second.url, 'POST', '/v1/work-items', {
        kind: 'refund',
        capability: 'refund.assess',
      });
      expect(after.status).toBe(201);
    } finally {
      await kill(second);
    }
  });
});
