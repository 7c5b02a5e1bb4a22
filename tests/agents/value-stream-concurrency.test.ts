// Parallel branches of one item completed at the same moment: resumes of an item's thread take turns
// (an advisory lock on the item, held while the checkpoint is read and written and steps are routed),
// so the join runs exactly once. On PostgreSQL the two completions come through two runtimes on one
// database (two instances); on PGlite, one process, through one runtime at once.
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { ValueStreamDriver } from '../../agents/value-stream-driver.js';
import { parseNetwork } from '../../capabilities/network-file.js';
import { parseConfig } from '../../server/config.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import { type Logger, silentLogger } from '../../work/logger.js';
import { onPostgres } from '../support/database.js';
import { createTestRuntime, TEST_ADMIN_KEY, type TestRuntime } from '../support/runtime.js';

const network = parseNetwork(
  `capabilities:
  - id: doc.draft
  - id: doc.review
  - id: doc.legal
  - id: doc.publish
nodes:
  - id: writers
    name: Writers
    kind: human_team
    capacity: 50
    capabilities:
      - { capability: doc.draft, proficiency: 1 }
      - { capability: doc.review, proficiency: 1 }
      - { capability: doc.legal, proficiency: 1 }
      - { capability: doc.publish, proficiency: 1 }
valueStreams:
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - to: [review, legal]
      - id: review
        capability: doc.review
      - id: legal
        capability: doc.legal
      - id: publish
        capability: doc.publish
        join: [review, legal]
`,
  'parallel.yaml',
);

interface Claim {
  workItem: { id: string };
  step: { id: string; capability: string };
  lease: { token: string };
}
interface ItemBody {
  id: string;
  state: string;
  result: { outcome?: string; steps?: Record<string, unknown> } | null;
  steps: { capability: string; state: string }[];
}

async function call<T>(app: Runtime['app'], method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function complete(app: Runtime['app'], c: Claim, result: unknown) {
  const res = await call(app, 'POST', `/v1/work-items/${c.workItem.id}/complete`, {
    stepId: c.step.id,
    leaseToken: c.lease.token,
    result,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function claimAll(app: Runtime['app'], max: number): Promise<Claim[]> {
  const res = await call<{ claims: Claim[] }>(app, 'POST', '/v1/nodes/writers/claims', { max });
  expect(res.status).toBe(200);
  return res.body.claims;
}

let t: TestRuntime | undefined;
let second: Runtime | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
  await t?.close();
  t = undefined;
});

describe('parallel branches completed at the same moment', () => {
  it(`join exactly once, every time (${onPostgres ? 'two instances on one database' : 'one process'})`, async () => {
    // Both instances log to one list: a resume that failed (a deadlock between two resumes, say) shows here.
    const warnings: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
      error: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    };
    t = await createTestRuntime({ network, logger });
    const a = t.runtime;
    // A second instance: another runtime with its own connection pool on the same database.
    const b = onPostgres
      ? await createRuntime(
          parseConfig({ FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY, FLOWMESH_LOG_LEVEL: 'silent' }),
          {
            store: await t.database.openAnother(),
            clock: t.clock,
            network,
            policies: [],
            logger,
          },
        )
      : a;
    if (b !== a) second = b;

    for (let round = 0; round < 8; round++) {
      const submitted = await call<ItemBody>(a.app, 'POST', '/v1/work-items', {
        kind: 'doc',
        title: `doc ${round}`,
      });
      expect(submitted.status).toBe(201);
      const id = submitted.body.id;
      const [draft] = await claimAll(a.app, 1);
      expect(draft?.step.capability).toBe('doc.draft');
      await complete(a.app, draft!, { text: 'v1' });

      const branches = await claimAll(a.app, 2);
      expect(branches.map((c) => c.step.capability).sort()).toEqual(['doc.legal', 'doc.review']);
      const review = branches.find((c) => c.step.capability === 'doc.review')!;
      const legal = branches.find((c) => c.step.capability === 'doc.legal')!;
      // The two branches end at once, one through each instance.
      await Promise.all([complete(a.app, review, { ok: true }), complete(b.app, legal, { cleared: true })]);

      const item = (await call<ItemBody>(a.app, 'GET', `/v1/work-items/${id}`)).body;
      expect(
        item.steps.filter((s) => s.capability === 'doc.publish'),
        `round ${round}`,
      ).toEqual([{ ...item.steps.find((s) => s.capability === 'doc.publish'), state: 'queued' }]);
      const status = await (a.router.streams as ValueStreamDriver).status({ id, kind: 'doc' });
      expect(status, `round ${round}`).toMatchObject({ state: 'running', waitingOn: [{ key: 'publish#1' }] });
      // One resume at a time: the thread's history is a line, no checkpoint was resumed from twice.
      const forks = await a.store.rows<{ parent: string }>(
        sql`select parent_checkpoint_id as parent from checkpoints where thread_id = ${id}
          group by parent_checkpoint_id having count(*) > 1`,
      );
      expect(forks, `round ${round}`).toEqual([]);
      expect(warnings, `round ${round}`).toEqual([]);

      const [publish] = await claimAll(b.app, 1);
      expect(publish?.step.capability).toBe('doc.publish');
      await complete(b.app, publish!, { url: `https://example.test/doc/${round}` });
      const done = (await call<ItemBody>(a.app, 'GET', `/v1/work-items/${id}`)).body;
      expect(done.state, `round ${round}`).toBe('done');
      expect(done.result).toMatchObject({
        outcome: 'completed',
        steps: { review: { ok: true }, legal: { cleared: true } },
      });
      expect(done.steps.map((s) => s.capability).sort()).toEqual([
        'doc.draft',
        'doc.legal',
        'doc.publish',
        'doc.review',
      ]);
    }
  }, 120_000);
});
