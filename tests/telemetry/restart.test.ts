// The map is rebuilt from the span store, so it survives a restart; spans past retention are swept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import { manualClock } from '../../work/clock.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/database.js';
import { loadExampleNetwork, TEST_ADMIN_KEY } from '../support/runtime.js';
import { MIN, playScript, T0 } from './scenario.js';

const window = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 24 * 60 * MIN).toISOString()}`;

async function get(runtime: Runtime, path: string) {
  const res = await runtime.app.request(path, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the value stream across a restart', () => {
  let database: TestDatabase;
  let dir: string | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    if (onPostgres && database.url) {
      env = { DATABASE_URL: database.url };
    } else {
      // PGlite keeps its data in a folder: the second runtime opens the same one.
      await database.store.close();
      dir = mkdtempSync(join(tmpdir(), 'flowmesh-restart-'));
      env = { FLOWMESH_DATA_DIR: dir };
    }
  });
  afterAll(async () => {
    if (onPostgres) await database.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (clock = manualClock()) =>
    createRuntime(
      parseConfig({
        FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY,
        FLOWMESH_LOG_LEVEL: 'silent',
        FLOWMESH_SPAN_RETENTION_DAYS: '7',
        ...env,
      }),
      { clock, network: await loadExampleNetwork(), policies: [] },
    );

  it('serves the same map after the process stops and starts again', async () => {
    const first = await start();
    playScript(first.telemetry.hops);
    const before = await get(first, `/v1/value-streams/refund?${window}`);
    expect(before.status).toBe(200);
    expect(before.body.items).toMatchObject({ started: 5, done: 4 });
    await first.close();

    const second = await start();
    try {
      const after = await get(second, `/v1/value-streams/refund?${window}`);
      expect(after.status).toBe(200);
      expect(after.body).toEqual(before.body);
    } finally {
      await second.close();
    }
  });

  it('deletes spans that ended before the retention window when swept', async () => {
    // Eight days after the script the retention of seven days has passed for every span.
    const clock = manualClock(new Date(T0 + 8 * 24 * 60 * MIN));
    const runtime = await start(clock);
    try {
      expect(await runtime.telemetry.sweep()).toBeGreaterThan(0);
      expect((await get(runtime, '/v1/value-streams')).body).toEqual({ valueStreams: [] });
    } finally {
      await runtime.close();
    }
  });
});
