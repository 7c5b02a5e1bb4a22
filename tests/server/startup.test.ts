// Start-up: the configuration from the environment, the network file, and the development admin key.
// Each refuses bad input with a message that names the variable or the file, the path inside it and why.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNetworkFile, parseNetwork } from '../../capabilities/network-file.js';
import { parseConfig } from '../../server/config.js';
import { ensureDevAdminKey } from '../../server/dev-credentials.js';
import { createRuntime } from '../../server/runtime.js';
import { FlowmeshError } from '../../work/errors.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

function failure(fn: () => unknown): FlowmeshError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FlowmeshError) return error;
    throw error;
  }
  throw new Error('expected a FlowmeshError');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowmesh-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('configuration from the environment', () => {
  it('has defaults for everything', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      dataDir: './.flowmesh',
      networkFile: 'examples/network.yaml',
      adminKey: undefined,
      logLevel: 'info',
      bodyLimit: 1024 * 1024,
    });
    expect(config.idempotencyTtlMs).toBeGreaterThanOrEqual(24 * 3600 * 1000);
  });

  it('reads the variables it is given', () => {
    const config = parseConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://flowmesh@db:5432/flowmesh',
      FLOWMESH_DATA_DIR: '/var/lib/flowmesh',
      FLOWMESH_NETWORK: 'ops/network.yaml',
      FLOWMESH_ADMIN_KEY: 'a-long-enough-admin-key',
      FLOWMESH_LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: 'postgres://flowmesh@db:5432/flowmesh',
      dataDir: '/var/lib/flowmesh',
      networkFile: 'ops/network.yaml',
      adminKey: 'a-long-enough-admin-key',
      logLevel: 'debug',
    });
  });

  it('treats an empty DATABASE_URL or FLOWMESH_ADMIN_KEY as unset', () => {
    const config = parseConfig({ DATABASE_URL: '', FLOWMESH_ADMIN_KEY: '  ' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.adminKey).toBeUndefined();
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://root@localhost/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'localhost:5432' }, 'DATABASE_URL'],
    [{ FLOWMESH_ADMIN_KEY: 'short' }, 'FLOWMESH_ADMIN_KEY'],
    [{ FLOWMESH_LOG_LEVEL: 'loud' }, 'FLOWMESH_LOG_LEVEL'],
    [{ FLOWMESH_BODY_LIMIT: '12' }, 'FLOWMESH_BODY_LIMIT'],
  ])('refuses %j naming %s', (env, variable) => {
    const error = failure(() => parseConfig(env));
    expect(error.code).toBe('invalid');
    expect(error.message).toContain('invalid configuration');
    expect(error.message).toContain(`${variable}:`);
    expect(error.errors.map((e) => e.path)).toEqual([variable]);
  });

  it('lists every bad variable at once', () => {
    const error = failure(() => parseConfig({ PORT: 'x', FLOWMESH_ADMIN_KEY: 'short' }));
    expect(error.errors.map((e) => e.path).sort()).toEqual(['FLOWMESH_ADMIN_KEY', 'PORT']);
  });
});

const GOOD_NETWORK = `
capabilities:
  - id: kb.answer
nodes:
  - id: help-centre
    name: Help centre
    kind: self_service
    capacity: 100
    capabilities:
      - capability: kb.answer
`;

describe('the network file', () => {
  it('loads the example network with nodes of all three kinds', async () => {
    const network = await loadNetworkFile('examples/network.yaml');
    const kinds = new Set(network.nodes.map((n) => n.kind));
    expect(kinds).toEqual(new Set(['human_team', 'self_service', 'ai_agent']));
    expect(network.capabilities.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'intake.triage',
        'kb.answer',
        'refund.assess',
        'refund.approve',
        'refund.execute',
        'incident.triage',
      ]),
    );
  });

  it('fills defaults into a minimal file', () => {
    const network = parseNetwork(GOOD_NETWORK, 'net.yaml');
    expect(network.nodes[0]).toMatchObject({ mode: 'pull', availability: 'available' });
    expect(network.capabilities[0]).toMatchObject({ maxAttempts: 3, leaseSeconds: 300 });
  });

  it('names the file, the line and the column of a YAML syntax error', () => {
    const error = failure(() =>
      parseNetwork('capabilities:\n  - id: kb.answer\n   bad: [unclosed\n', 'ops/net.yaml'),
    );
    expect(error.message).toMatch(/^ops\/net\.yaml: not valid YAML: line \d+, column \d+: /);
    expect(error.errors[0]?.path).toMatch(/^line \d+, column \d+$/);
  });

  it('refuses duplicate YAML keys with their position', () => {
    const error = failure(() => parseNetwork('capabilities: []\ncapabilities: []\n', 'net.yaml'));
    expect(error.message).toContain('net.yaml: not valid YAML: line 2');
  });

  it('names the path and reason for a node with an unknown capability', () => {
    const source = GOOD_NETWORK.replace('      - capability: kb.answer', '      - capability: kb.write');
    const error = failure(() => parseNetwork(source, 'net.yaml'));
    expect(error.message).toContain('network file net.yaml is invalid');
    expect(error.message).toContain(
      'net.yaml: nodes[0].capabilities[0].capability: unknown capability kb.write',
    );
  });

  it('names the path of a duplicate node id and a duplicate capability id', () => {
    const source = `
capabilities:
  - id: kb.answer
  - id: kb.answer
nodes:
  - { id: a, name: A, kind: human_team, capacity: 1, capabilities: [{ capability: kb.answer }] }
  - { id: a, name: B, kind: ai_agent, capacity: 1, capabilities: [{ capability: kb.answer }] }
`;
    const error = failure(() => parseNetwork(source, 'net.yaml'));
    expect(error.errors).toEqual(
      expect.arrayContaining([
        { path: 'capabilities[1].id', message: 'duplicate capability id kb.answer' },
        { path: 'nodes[1].id', message: 'duplicate node id a' },
      ]),
    );
  });

  it('names wrong types and unknown fields inside a node', () => {
    const source = GOOD_NETWORK.replace('capacity: 100', 'capacity: lots\n    colour: blue');
    const error = failure(() => parseNetwork(source, 'net.yaml'));
    expect(error.errors.map((e) => e.path).sort()).toEqual(['nodes[0]', 'nodes[0].capacity']);
  });

  it('says which variable to fix when the file cannot be read', async () => {
    const error = await loadNetworkFile(join(dir, 'missing.yaml')).catch((e: FlowmeshError) => e);
    expect(error).toBeInstanceOf(FlowmeshError);
    expect((error as FlowmeshError).message).toContain('missing.yaml');
    expect((error as FlowmeshError).message).toContain('FLOWMESH_NETWORK');
  });

  it('stops start-up before the database is opened', async () => {
    const file = join(dir, 'bad-network.yaml');
    await writeFile(file, 'capabilities: []\n');
    const dataDir = join(dir, 'never-created');
    const config = parseConfig({
      FLOWMESH_NETWORK: file,
      FLOWMESH_DATA_DIR: dataDir,
      FLOWMESH_POLICIES: join(dir, 'none'),
    });
    const error = await createRuntime(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowmeshError);
    expect((error as FlowmeshError).message).toContain(`network file ${file} is invalid`);
    expect((error as FlowmeshError).message).toContain('capabilities');
    await expect(stat(dataDir)).rejects.toThrow();
  });
});

describe('the development admin key', () => {
  let t: TestRuntime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = join(dir, 'data');
    t = await createTestRuntime({ env: { FLOWMESH_ADMIN_KEY: '', FLOWMESH_DATA_DIR: dataDir } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is created on first start, printed once and written to dev-credentials.json', async () => {
    const printed: string[] = [];
    await ensureDevAdminKey(t.runtime, (line) => printed.push(line));
    const file = join(dataDir, 'dev-credentials.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { adminKey: string };
    expect(saved.adminKey).toMatch(/^fm_/);
    expect(printed.join('\n')).toContain(saved.adminKey);
    expect(printed.join('\n')).toContain(file);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');

    const res = await t.request('POST', '/v1/api-keys', {
      key: saved.adminKey,
      body: { name: 'ops', role: 'operator' },
    });
    expect(res.status).toBe(201);
  });

  it('is not created again on the next start, and is not printed again', async () => {
    const file = join(dataDir, 'dev-credentials.json');
    const before = await readFile(file, 'utf8');
    const printed: string[] = [];
    await ensureDevAdminKey(t.runtime, (line) => printed.push(line));
    expect(await readFile(file, 'utf8')).toBe(before);
    const { adminKey } = JSON.parse(before) as { adminKey: string };
    expect(printed.join('\n')).not.toContain(adminKey);
    expect(printed.join('\n')).toContain(file);
  });

  it('is not created when FLOWMESH_ADMIN_KEY is set', async () => {
    const other = await createTestRuntime({ env: { FLOWMESH_DATA_DIR: join(dir, 'other') } });
    try {
      const printed: string[] = [];
      await ensureDevAdminKey(other.runtime, (line) => printed.push(line));
      expect(printed).toEqual([]);
      await expect(stat(join(dir, 'other', 'dev-credentials.json'))).rejects.toThrow();
    } finally {
      await other.close();
    }
  });
});
