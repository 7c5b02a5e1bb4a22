// Start-up and SIGHUP: the service does not start with a bad policy set, and a running one reloads on SIGHUP.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.js';
import { createRuntime } from '../../server/runtime.js';
import { FlowmeshError } from '../../work/errors.js';

const ADMIN = 'policy-startup-admin-key-0123';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowmesh-policy-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('starting with policies', () => {
  it('refuses to start with a bad set, naming the file, the rule, the position and the reason', async () => {
    await writeFile(join(dir, 'bad.yaml'), '- id: typo\n  on: route\n  deny: node.knd == "ai_agent"\n');
    const error = await createRuntime(
      parseConfig({ FLOWMESH_POLICIES: dir, FLOWMESH_DATA_DIR: 'memory://', FLOWMESH_LOG_LEVEL: 'silent' }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FlowmeshError);
    expect((error as FlowmeshError).message).toContain(
      `${join(dir, 'bad.yaml')}:3:14: rule typo (deny): type error: No such key: knd`,
    );
  });

  it('refuses to start when FLOWMESH_POLICIES does not exist', async () => {
    await expect(
      createRuntime(parseConfig({ FLOWMESH_POLICIES: join(dir, 'nope'), FLOWMESH_DATA_DIR: 'memory://' })),
    ).rejects.toThrow(/cannot read policies at .*nope/);
  });
});

describe('SIGHUP', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('reloads the policy files; a set that does not load leaves the running one', async () => {
    const policies = await mkdtemp(join(tmpdir(), 'flowmesh-sighup-'));
    await writeFile(join(policies, 'rules.yaml'), '- id: first\n  on: admit\n  deny: false\n');
    child = spawn(process.execPath, ['--import', 'tsx', 'server/node.ts'], {
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        FLOWMESH_DATA_DIR: 'memory://',
        FLOWMESH_ADMIN_KEY: ADMIN,
        FLOWMESH_POLICIES: policies,
        FLOWMESH_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const waitFor = (pattern: RegExp) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit) resolve(hit);
        };
        child?.stdout?.on('data', (chunk: Buffer) => {
          lines.push(...chunk.toString().split('\n'));
          check();
        });
        child?.on('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)));
        check();
      });
    const listening = JSON.parse(await waitFor(/flowmesh listening/)) as { url: string };
    const base = listening.url.replace('localhost', '127.0.0.1');
    const get = async () =>
      (await (
        await fetch(`${base}/v1/policies`, { headers: { authorization: `Bearer ${ADMIN}` } })
      ).json()) as {
        version: string;
        rules: Array<{ id: string }>;
        lastReload: { ok: boolean } | null;
      };
    const before = await get();
    expect(before.rules.map((r) => r.id)).toEqual(['first']);

    await writeFile(join(policies, 'rules.yaml'), '- id: broken\n  on: admit\n  deny: item.kind ==\n');
    child.kill('SIGHUP');
    await waitFor(/policy reload refused/);
    expect((await get()).version).toBe(before.version);

    await writeFile(join(policies, 'rules.yaml'), '- id: second\n  on: admit\n  deny: false\n');
    child.kill('SIGHUP');
    await waitFor(/policies reloaded/);
    const after = await get();
    expect(after.rules.map((r) => r.id)).toEqual(['second']);
    expect(after.version).not.toBe(before.version);
    await rm(policies, { recursive: true, force: true });
  }, 120_000);
});
