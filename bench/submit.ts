import autocannon from 'autocannon';
import { submitWorkItem } from '../capabilities/work-items.js';
import { parseConfig } from '../server/config.js';
import { createRuntime, type Runtime } from '../server/runtime.js';
import { insertSubmission } from '../store/work-items.js';
import { newSubmission } from '../work/submission.js';
import { SubmitWorkItemSchema } from '../work/work-item.js';
import { type Db, listen, percentile, prepareDatabase } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ADMIN_KEY = `bench-admin-${crypto.randomUUID()}`;
const BODY = {
  kind: 'support.question',
  title: 'Where is my order?',
  capability: 'kb.answer',
  payload: { question: 'Where is my order 1042?', channel: 'web' },
  attributes: { customerTier: 'standard', pii: false },
  priority: 40,
};

const TARGETS: Partial<Record<string, string>> = {
  items_per_s: '>= 2000',
  p99_ms: '<= 25',
  ratio_to_baseline: '>= 0.6',
};

function print(db: Db, figure: string, value: number): void {
  const rounded = Math.round(value * 100) / 100;
  const target = db === 'postgres' ? TARGETS[figure] : undefined;
  process.stdout.write(
    `${JSON.stringify({ bench: 'submit', db, figure, value: rounded, ...(target ? { target } : {}) })}\n`,
  );
}

function load(url: string, key: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v1/work-items`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    // The load generator runs on its own thread, so it does not share the service's event loop.
    workers: 1,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(BODY),
  });
}

/** Runs `once` in CONNECTIONS concurrent loops for `seconds`; returns the sorted latencies. */
async function loops(seconds: number, once: () => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await once();
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/** The baseline: the submission's one-statement insert (item, step, events) through the driver alone. */
function insertOnly(runtime: Runtime): () => Promise<void> {
  const input = SubmitWorkItemSchema.parse(BODY);
  return () =>
    insertSubmission(
      runtime.store,
      newSubmission(input, {
        now: new Date(),
        createdBy: 'bench',
        capability: BODY.capability,
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      }),
    );
}

/** The core function the route calls (admission, routing, the insert), without HTTP, auth or parsing. */
function coreOnly(runtime: Runtime): () => Promise<unknown> {
  const input = SubmitWorkItemSchema.parse(BODY);
  const principal = { id: 'bench', name: 'bench', role: 'submitter' as const, nodeId: null };
  return () => submitWorkItem(runtime, principal, input);
}

async function bench(db: Db): Promise<void> {
  const database = await prepareDatabase(db, 'submit');
  let runtime: Runtime | undefined;
  try {
    const config = parseConfig({
      ...process.env,
      DATABASE_URL: undefined,
      ...database.env,
      FLOWMESH_ADMIN_KEY: ADMIN_KEY,
      FLOWMESH_LOG_LEVEL: 'silent',
    });
    runtime = await createRuntime(config);
    const server = await listen(runtime);
    try {
      const created = await fetch(`${server.url}/v1/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench submitter', role: 'submitter' }),
      });
      if (created.status !== 201)
        throw new Error(`could not create a key: ${created.status} ${await created.text()}`);
      const { key } = (await created.json()) as { key: string };

      await load(server.url, key, WARMUP_SECONDS);
      const result = await load(server.url, key, SECONDS);
      const items = result['2xx'] / result.duration;
      print(db, 'items_per_s', items);
      print(db, 'p50_ms', result.latency.p50);
      print(db, 'p99_ms', result.latency.p99);
      print(db, 'errors', result.non2xx + result.errors);

      await loops(WARMUP_SECONDS, coreOnly(runtime));
      const core = await loops(SECONDS, coreOnly(runtime));
      print(db, 'core_items_per_s', core.length / SECONDS);
      print(db, 'core_p99_ms', percentile(core, 99));

      await loops(WARMUP_SECONDS, insertOnly(runtime));
      const base = await loops(SECONDS, insertOnly(runtime));
      const baseItems = base.length / SECONDS;
      print(db, 'baseline_items_per_s', baseItems);
      print(db, 'baseline_p50_ms', percentile(base, 50));
      print(db, 'baseline_p99_ms', percentile(base, 99));
      print(db, 'ratio_to_baseline', items / baseItems);
    } finally {
      await server.close();
    }
  } finally {
    await runtime?.close();
    await database.cleanup();
  }
}

// BENCH_DB=pglite or BENCH_DB=postgres runs one of the two.
const only = process.env.BENCH_DB;
if (!only || only === 'pglite') await bench('pglite');
if (process.env.DATABASE_URL && (!only || only === 'postgres')) await bench('postgres');
