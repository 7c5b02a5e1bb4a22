import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { sql } from 'drizzle-orm';
import { noopHopRecorder } from '../capabilities/hooks.js';
import { NetworkSchema } from '../capabilities/network-schema.js';
import { parseConfig } from '../server/config.js';
import { createRuntime, type Runtime } from '../server/runtime.js';
import { rebuildStepVisits } from '../store/span-writes.js';
import { getValueStream } from '../telemetry/service.js';
import { type Db, listen, prepareDatabase } from './support.js';

/** Rounds of each side, and seconds per round, of the tracing on/off comparison. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 5);
/**
 * Warm-up per side before the rounds. Both runtimes share this process's code: with 2 s each, the
 * first round's `off` side ran 10-25 % slower than later ones (code the `on` warm-up had just
 * re-optimized), which flattered tracing by several points; from 6 s on it runs at its later pace.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 6);
const WORKERS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ITEMS_PG = Number(process.env.BENCH_VALUE_STREAM_ITEMS ?? 100_000);
const ITEMS_PGLITE = Number(process.env.BENCH_VALUE_STREAM_ITEMS_PGLITE ?? 20_000);
const ADMIN_KEY = `bench-admin-${crypto.randomUUID()}`;

const TARGETS: Partial<Record<string, string>> = {
  tracing_loss_pct: '<= 10',
  rebuild_ms: '<= 2000',
};

function print(db: Db, figure: string, value: number, extra: Record<string, unknown> = {}): void {
  const rounded = Math.round(value * 100) / 100;
  const target = db === 'postgres' ? TARGETS[figure] : undefined;
  process.stdout.write(
    `${JSON.stringify({ bench: 'telemetry', db, figure, value: rounded, ...extra, ...(target ? { target } : {}) })}\n`,
  );
}

const network = NetworkSchema.parse({
  capabilities: [{ id: 'bench.work', leaseSeconds: 600 }],
  nodes: [
    {
      id: 'bench-team',
      name: 'Bench team',
      kind: 'human_team',
      capacity: 100_000,
      capabilities: [{ capability: 'bench.work', proficiency: 1 }],
    },
  ],
});

/** An OTLP/HTTP receiver that reads and discards what it is sent, counting requests (bench/otlp-receiver.mjs). */
async function startReceiver(): Promise<{
  url: string;
  requests(): Promise<number>;
  close(): Promise<void>;
}> {
  const worker = new Worker(new URL('./otlp-receiver.mjs', import.meta.url));
  const next = () =>
    new Promise<{ port?: number; requests?: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${port}`,
    async requests() {
      const reply = next();
      worker.postMessage('count');
      return (await reply).requests ?? 0;
    },
    async close() {
      await worker.terminate();
    },
  };
}

/** The load generator: a worker thread running the loops (bench/loop-client.mjs). */
interface LoopClient {
  /** WORKERS loops of submit → claim → complete against `url` for `seconds`; returns finished loops. */
  run(url: string, seconds: number): Promise<number>;
  close(): Promise<void>;
}

function startLoopClient(): LoopClient {
  const worker = new Worker(new URL('./loop-client.mjs', import.meta.url));
  return {
    run(url, seconds) {
      return new Promise((resolve, reject) => {
        worker.once('message', (reply: { loops?: number; error?: string }) =>
          reply.error === undefined ? resolve(reply.loops ?? 0) : reject(new Error(reply.error)),
        );
        worker.postMessage({ url, key: ADMIN_KEY, seconds, concurrency: WORKERS });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

interface LoopServer {
  url: string;
  /** Stores and exports what the round recorded (a no-op with tracing off). */
  flush(): Promise<void>;
  report(): Promise<void>;
  close(): Promise<void>;
}

/** Busy CPU time of the whole machine so far (Linux /proc/stat), in ms; 0 where it cannot be read. */
function machineBusyMs(): number {
  try {
    const fields =
      readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const steal = fields[7] ?? 0;
    const total = fields.reduce((a, b) => a + b, 0);
    // USER_HZ is 100 on Linux: a tick is 10 ms. Time stolen by the hypervisor is not this machine's work.
    return (total - idle - steal) * 10;
  } catch {
    return 0;
  }
}

/** A runtime serving the loop on a database of its own, with tracing on or off. */
async function startLoopServer(db: Db, tracing: boolean): Promise<LoopServer> {
  const database = await prepareDatabase(db, 'tel');
  const receiver = await startReceiver();
  const config = parseConfig({
    DATABASE_URL: undefined,
    ...database.env,
    FLOWMESH_ADMIN_KEY: ADMIN_KEY,
    FLOWMESH_LOG_LEVEL: 'silent',
    ...(tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } : { OTEL_SDK_DISABLED: 'true' }),
  });
  const runtime = await createRuntime(config, { network, policies: [] });
  if (!tracing) runtime.router.hops = noopHopRecorder;
  const server = await listen(runtime);
  return {
    url: server.url,
    flush: () => (tracing ? runtime.telemetry.forceFlush() : Promise.resolve()),
    async report() {
      if (!tracing) return;
      await runtime.telemetry.forceFlush();
      const stored = await runtime.store.rows<{ n: number | string }>(sql`select count(*) as n from spans`);
      print(db, 'tracing_on_spans_stored', Number(stored[0]?.n ?? 0));
      print(db, 'tracing_on_otlp_requests', await receiver.requests());
    },
    async close() {
      await server.close();
      await runtime.close();
      await receiver.close();
      await database.cleanup();
    },
  };
}

/**
 * Tracing on against off, measured in alternating rounds (off, on, on, off, …) on two runtimes that
 * run side by side, so a change in the machine's speed during the run (other load, a neighbour on the
 * same host) falls on both alike. An `on` round includes storing and exporting what it recorded.
 */
async function tracingLoss(db: Db): Promise<void> {
  const off = await startLoopServer(db, false);
  const on = await startLoopServer(db, true);
  const client = startLoopClient();
  try {
    await client.run(off.url, WARMUP_SECONDS);
    await client.run(on.url, WARMUP_SECONDS);
    await on.flush();
    const total = {
      off: { loops: 0, ms: 0, processCpuMs: 0, machineCpuMs: 0 },
      on: { loops: 0, ms: 0, processCpuMs: 0, machineCpuMs: 0 },
    };
    const roundLosses: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rates: Record<'off' | 'on', number> = { off: 0, on: 0 };
      for (const which of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const target = which === 'on' ? on : off;
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const machine0 = machineBusyMs();
        const loops = await client.run(target.url, ROUND_SECONDS);
        await target.flush();
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        total[which].loops += loops;
        total[which].ms += ms;
        total[which].processCpuMs += (cpu.user + cpu.system) / 1000;
        total[which].machineCpuMs += machineBusyMs() - machine0;
        rates[which] = loops / ms;
      }
      roundLosses.push(Math.round(((rates.off - rates.on) / rates.off) * 1000) / 10);
    }
    const offRate = (total.off.loops / total.off.ms) * 1000;
    const onRate = (total.on.loops / total.on.ms) * 1000;
    await on.report();
    print(db, 'loops_per_s_tracing_off', offRate);
    print(db, 'loops_per_s_tracing_on', onRate);
    print(db, 'tracing_loss_pct', ((offRate - onRate) / offRate) * 100, {
      rounds: roundLosses,
      roundSeconds: ROUND_SECONDS,
    });
    // Where the difference goes: CPU of this process (the service, and the load generator's thread)
    // and of the whole machine (adds PostgreSQL), per loop, off → on.
    for (const which of ['off', 'on'] as const) {
      const t = total[which];
      print(db, `process_cpu_ms_per_loop_tracing_${which}`, t.processCpuMs / t.loops);
      if (t.machineCpuMs > 0) print(db, `machine_cpu_ms_per_loop_tracing_${which}`, t.machineCpuMs / t.loops);
    }
  } finally {
    await client.close();
    await on.close();
    await off.close();
  }
}

/**
 * Fills the span store with `items` refund items through SQL, around the span writer: three steps each,
 * a handoff on one in ten. backfillVisits then builds their step visits.
 */
async function seedSpans(runtime: Runtime, items: number): Promise<void> {
  for (let from = 1; from <= items; from += 20_000) {
    const to = Math.min(items, from + 19_999);
    await runtime.store.rows(sql`
      with item as (
        select i, md5('item' || i)::uuid as id, md5('trace' || i) as trace_id,
          timestamptz '2026-01-05 09:00:00+00' + (i * interval '20 seconds') as start_at
        from generate_series(${from}::int, ${to}::int) i
      ), step as (
        select item.*, s, md5('step' || i || '-' || s)::uuid as step_id,
          (array['intake.triage', 'refund.assess', 'refund.execute'])[s] as capability,
          (array['triage-agent', 'billing-team', 'help-centre'])[s] as node_id,
          item.start_at + (s - 1) * interval '4 hours' as queued_at,
          (5 + (i * 37 + s * 11) % 120) * interval '1 minute' as wait,
          (2 + (i * 13 + s * 7) % 30) * interval '1 minute' as work
        from item cross join generate_series(1, 3) s
      ), hop as (
        select step.*, h,
          case h when 'route' then queued_at when 'wait' then queued_at when 'work' then queued_at + wait
            else queued_at + wait + work end as h_start,
          case h when 'route' then queued_at when 'wait' then queued_at + wait else queued_at + wait + work end as h_end
        from step cross join (values ('route'), ('wait'), ('work'), ('handoff')) v(h)
        where h <> 'handoff' or (s = 2 and i % 10 = 0)
      )
      insert into spans (trace_id, span_id, parent_span_id, name, source, hop, work_item_id, kind, step_id, capability,
        node_id, node_kind, attempt, outcome, start_at, end_at, duration_ms, attributes)
      select trace_id, substr(md5(step_id::text || h), 1, 16), substr(md5('root' || i), 1, 16), 'flowmesh.' || h, 'hop', h,
        id, 'refund', step_id, capability, case when h = 'route' then null else node_id end, null, 1,
        case h when 'route' then 'routed' when 'wait' then 'claimed' when 'work' then 'completed' else 'handed_off' end,
        h_start, h_end, extract(epoch from (h_end - h_start)) * 1000, '{}'::jsonb
      from hop
      union all
      select trace_id, substr(md5('root' || i), 1, 16), null, 'flowmesh.work_item', 'item', null, id, 'refund', null, null,
        null, null, null, 'done', start_at, start_at + interval '8 hours' + wait + work,
        extract(epoch from (interval '8 hours' + wait + work)) * 1000, '{}'::jsonb
      from step where s = 3`);
  }
  await runtime.store.rows(sql`analyze spans`);
}

/** Builds the step visits of the seeded spans, as migration 0009 backfills them from existing spans. */
async function backfillVisits(runtime: Runtime): Promise<void> {
  await runtime.store.transaction((tx) => rebuildStepVisits(runtime.store, tx));
  await runtime.store.rows(sql`analyze step_visits`);
  await runtime.store.rows(sql`analyze span_items`);
}

async function rebuild(db: Db, items: number): Promise<void> {
  const database = await prepareDatabase(db, 'tel');
  let runtime: Runtime | undefined;
  try {
    const config = parseConfig({
      DATABASE_URL: undefined,
      ...database.env,
      FLOWMESH_ADMIN_KEY: ADMIN_KEY,
      FLOWMESH_LOG_LEVEL: 'silent',
    });
    runtime = await createRuntime(config, { network, policies: [] });
    const seeded = performance.now();
    await seedSpans(runtime, items);
    print(db, 'seed_ms', performance.now() - seeded, { items });
    const backfilled = performance.now();
    await backfillVisits(runtime);
    print(db, 'visits_backfill_ms', performance.now() - backfilled, { items });
    const tcore = {
      store: runtime.store,
      clock: runtime.clock,
      spanStore: runtime.telemetry.spanStore,
      flush: () => runtime?.telemetry.flushStore() ?? Promise.resolve(),
      nodes: network.nodes,
    };
    const window = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-03-01T00:00:00Z') };
    const times: number[] = [];
    let started = 0;
    for (let run = 0; run < 4; run++) {
      const t0 = performance.now();
      const vs = await getValueStream(tcore, 'refund', window);
      times.push(performance.now() - t0);
      started = vs.items.started;
    }
    if (started !== items) throw new Error(`rebuilt ${started} items, expected ${items}`);
    times.shift(); // the first run warms caches
    times.sort((a, b) => a - b);
    print(db, 'rebuild_ms', times[1] ?? 0, { items, runs: times.map((t) => Math.round(t)) });
  } finally {
    await runtime?.close();
    await database.cleanup();
  }
}

/**
 * CPU cost per hop with tracing on, independent of the machine's other load: record hop spans
 * (SDK span, span-store processor, OTLP batch queue) and store them.
 */
async function hopCost(db: Db): Promise<void> {
  const database = await prepareDatabase(db, 'tel');
  const receiver = await startReceiver();
  let runtime: Runtime | undefined;
  try {
    const config = parseConfig({
      DATABASE_URL: undefined,
      ...database.env,
      FLOWMESH_ADMIN_KEY: ADMIN_KEY,
      FLOWMESH_LOG_LEVEL: 'silent',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    runtime = await createRuntime(config, { network, policies: [] });
    const n = 20_000;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const at = new Date('2026-01-05T09:00:00Z');
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      runtime.telemetry.hops.record({
        hop: 'wait',
        workItemId: crypto.randomUUID(),
        workItemKind: 'bench',
        traceparent,
        stepId: crypto.randomUUID(),
        seq: 1,
        capability: 'bench.work',
        nodeId: 'bench-team',
        nodeKind: 'human_team',
        attempt: 1,
        startedAt: at,
        endedAt: at,
        outcome: 'claimed',
      });
    }
    const recorded = performance.now();
    await runtime.telemetry.forceFlush();
    const stored = performance.now();
    print(db, 'hop_record_us', ((recorded - t0) * 1000) / n, { hops: n });
    print(db, 'hop_store_and_export_us', ((stored - recorded) * 1000) / n, { hops: n });
  } finally {
    await runtime?.close();
    await receiver.close();
    await database.cleanup();
  }
}

/** BENCH_PARTS=hops,loop,rebuild picks parts (default all). */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'hops,loop,rebuild').split(','));

async function bench(db: Db): Promise<void> {
  if (PARTS.has('hops')) await hopCost(db);
  if (PARTS.has('loop')) {
    await tracingLoss(db);
  }
  if (PARTS.has('rebuild')) await rebuild(db, db === 'postgres' ? ITEMS_PG : ITEMS_PGLITE);
}

const only = process.env.BENCH_DB;
if (!only || only === 'pglite') await bench('pglite');
if (process.env.DATABASE_URL && (!only || only === 'postgres')) await bench('postgres');
