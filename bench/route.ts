// Figures for the router (issue 3, item 9). Prints one JSON line per figure.
//   (a) eligibility: one step's eligible set with 1,000 nodes and 100 capabilities, p50/p99 in µs.
//   (b) end-to-end items/s on PostgreSQL: submit → claim → complete through the core functions (the
//       same the HTTP routes and MCP tools call), 8 concurrent pull claimers, beside a raw-SQL
//       baseline on the same database (insert / claim with SKIP LOCKED / delete), and the ratio; with
//       what each side costs per item, to read the ratio by: the WAL PostgreSQL writes for it, the
//       CPU of this process (the baseline's client; the service with its client) and, when the server
//       runs on this machine, the CPU of its processes; and the share of CPU time the hypervisor stole
//       during the runs, which slows both sides.
//   (c) claim latency p99 with 100 and with 100,000 queued steps (the queue is kept at its depth),
//       over 2,000 claims each.
//   (d) (b) again with batched claims (max 20).
// (b) and (d) are measured in steady state: after warm-up runs of the same size, the medians of
// alternating runs (see main). They run before (c), on a new database. They stop when no item
// completed for STALL_MS and report the rate over what completed and how many stalled, so a lost
// claim shows as a figure instead of a benchmark that never ends.
// Needs DATABASE_URL for (b)–(d); it creates its own database and drops it.
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { type Claim, claimSteps } from '../capabilities/claims.js';
import { computeEligibility } from '../capabilities/eligibility.js';
import { allowAllGuard } from '../capabilities/hooks.js';
import { completeStep } from '../capabilities/leases.js';
import { NetworkSchema } from '../capabilities/network-schema.js';
import { createRegistry } from '../capabilities/registry.js';
import { submitWorkItem } from '../capabilities/work-items.js';
import { parseConfig } from '../server/config.js';
import { createRuntime, type Runtime } from '../server/runtime.js';
import type { Principal } from '../work/principal.js';
import type { WorkItemRecord } from '../work/records.js';
import { percentile } from './support.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 4000);
const CLAIMERS = 8;
/**
 * Alternating measured runs of the service and the baseline in (b); the medians are printed. On this
 * kind of shared 2-core machine one side's rate moves by a fifth between runs minutes apart: five
 * rounds keep the median from following one slow run.
 */
const ROUNDS = 5;
/** Measured runs of (d). */
const BATCHED_ROUNDS = 3;
/**
 * Warm-up runs per side before (b) is measured. The baseline alone still gains for three or four runs
 * of 4,000 items (2,500 → 3,500 items/s); the service is level after one.
 */
const WARMUP_RUNS = 3;
const SUBMITTERS = 4;
const operator: Principal = { id: 'bench:operator', name: 'bench', role: 'operator', nodeId: null };

const round2 = (x: number): number => Math.round(x * 100) / 100;

function print(figure: string, value: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ bench: 'route', figure, value: round2(value), ...extra })}\n`);
}

// (a) ------------------------------------------------------------------------------------------
function benchEligibility(): void {
  const capabilities = Array.from({ length: 100 }, (_, i) => ({ id: `cap.c${i}` }));
  const kinds = ['human_team', 'self_service', 'ai_agent'] as const;
  const nodes = Array.from({ length: 1000 }, (_, i) => ({
    id: `node-${i}`,
    name: `Node ${i}`,
    kind: kinds[i % 3],
    capacity: 10,
    availability: i % 17 === 0 ? 'away' : i % 23 === 0 ? 'draining' : 'available',
    // Three capabilities each: about 30 nodes per capability.
    capabilities: [0, 37, 71].map((k) => ({ capability: `cap.c${(i + k) % 100}`, proficiency: 0.5 })),
  }));
  const network = NetworkSchema.parse({ capabilities, nodes });
  const registry = createRegistry(network);
  const item = { id: 'x', kind: 'bench', attributes: {}, priority: 50 } as unknown as WorkItemRecord;
  const now = new Date();
  const samples: number[] = [];
  for (let i = 0; i < 50_000; i++) {
    const step = { id: 's', capability: `cap.c${i % 100}`, seq: 1, attempt: 1 };
    const t0 = performance.now();
    computeEligibility({ registry, guard: allowAllGuard, item, step, tier: 0, now });
    samples.push((performance.now() - t0) * 1000);
  }
  const measured = samples.slice(10_000).sort((a, b) => a - b);
  print('eligibility_p50_us', percentile(measured, 50), { nodes: 1000, capabilities: 100 });
  print('eligibility_p99_us', percentile(measured, 99), { nodes: 1000, capabilities: 100, target: '<= 200' });
}

// (b), (d) --------------------------------------------------------------------------------------
const benchNetwork = NetworkSchema.parse({
  capabilities: [{ id: 'bench.work', leaseSeconds: 300 }],
  nodes: [
    {
      id: 'bench-agent',
      name: 'Bench agent',
      kind: 'ai_agent',
      capacity: 100_000,
      capabilities: [{ capability: 'bench.work' }],
    },
  ],
});

interface Rate {
  perSecond: number;
  /** Items whose completion had not settled when progress stopped (see STALL_MS). */
  stalled: number;
}

/** Gives up when no item completed for this long, and reports the rate over what completed. */
const STALL_MS = 20_000;

async function endToEnd(runtime: Runtime, items: number, max: number): Promise<Rate> {
  let submitted = 0;
  let completed = 0;
  const t0 = performance.now();
  let last = { at: performance.now(), completed: 0 };
  const submitter = async () => {
    while (submitted < items) {
      submitted++;
      await submitWorkItem(runtime, operator, {
        kind: 'bench',
        capability: 'bench.work',
        payload: { n: submitted },
      });
    }
  };
  const claimer = async () => {
    while (completed < items) {
      // Long-poll like a real agent: an empty queue waits for a wake-up instead of spinning.
      const claims: Claim[] = await claimSteps(runtime, operator, {
        nodeId: 'bench-agent',
        max,
        waitSeconds: 0.2,
      });
      if (claims.length === 0) continue;
      for (const c of claims) {
        await completeStep(runtime, operator, {
          workItemId: c.workItem.id,
          stepId: c.step.id,
          leaseToken: c.lease.token,
          result: { ok: true },
        });
        completed++;
      }
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const stall = new Promise<'stalled'>((resolve) => {
    timer = setInterval(() => {
      if (completed !== last.completed) last = { at: performance.now(), completed };
      else if (performance.now() - last.at > STALL_MS) resolve('stalled');
    }, 500);
  });
  const outcome = await Promise.race([
    Promise.all([
      ...Array.from({ length: SUBMITTERS }, submitter),
      ...Array.from({ length: CLAIMERS }, claimer),
    ]),
    stall,
  ]);
  clearInterval(timer);
  if (outcome === 'stalled') {
    // Stop the other loops: they test `completed < items`.
    const done = completed;
    completed = items;
    return { perSecond: done / ((last.at - t0) / 1000), stalled: items - done };
  }
  return { perSecond: items / ((performance.now() - t0) / 1000), stalled: 0 };
}

/**
 * The raw-SQL baseline on the same database: 4 submitters insert, 8 claimers claim with SKIP LOCKED
 * and delete. `open` creates its table; each `cycle(n)` moves n jobs through it and returns items/s.
 */
async function openBaseline(
  url: string,
): Promise<{ cycle(n: number): Promise<number>; close(): Promise<void> }> {
  const sql = postgres(url, { max: 20, onnotice: () => {} });
  await sql`create table bench_jobs (id bigserial primary key, priority int not null, payload jsonb not null,
    locked_at timestamptz, created_at timestamptz not null default now())`;
  await sql`create index bench_jobs_queue on bench_jobs (priority desc, id) where locked_at is null`;
  const cycle = async (n: number): Promise<number> => {
    let submitted = 0;
    let completed = 0;
    const t0 = performance.now();
    const submitter = async () => {
      while (submitted < n) {
        submitted++;
        await sql`insert into bench_jobs (priority, payload) values (50, ${sql.json({ n: submitted })})`;
      }
    };
    const claimer = async () => {
      while (completed < n) {
        const [job] = await sql`update bench_jobs set locked_at = now() where id = (
          select id from bench_jobs where locked_at is null order by priority desc, id
          for update skip locked limit 1) returning id`;
        if (!job) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        await sql`delete from bench_jobs where id = ${job.id}`;
        completed++;
      }
    };
    await Promise.all([
      ...Array.from({ length: SUBMITTERS }, submitter),
      ...Array.from({ length: CLAIMERS }, claimer),
    ]);
    return n / ((performance.now() - t0) / 1000);
  };
  return {
    cycle,
    async close() {
      await sql`drop table bench_jobs`;
      await sql.end();
    },
  };
}

const rounds = (xs: readonly number[]): number[] => xs.map((x) => Math.round(x));

/**
 * What one measured run cost per item: WAL written by the whole server, this process's CPU, and, when
 * the server runs on this machine, the CPU of its processes. `steal` is the share of this machine's
 * CPU time its hypervisor gave to others during the run (0 outside a virtual machine): runs with
 * much of it are slower on both sides.
 */
interface Cost {
  walBytes: number;
  cpuMs: number;
  serverCpuMs: number | undefined;
  steal: number;
}

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/**
 * CPU time (ms) the PostgreSQL server's processes have used so far: the backends and background
 * processes pg_stat_activity lists, read from /proc. Undefined when none of them is a postgres process
 * of this machine (a server elsewhere, in a container, or no /proc). Processes that exit during a run
 * take their time with them; both sides keep their connections open while they are measured.
 */
async function serverCpuMs(sql: postgres.Sql): Promise<number | undefined> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity`;
  let ticks = 0;
  let seen = 0;
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid …: utime and stime are the 14th and 15th fields.
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      seen++;
    } catch {
      // Not on this machine, or gone.
    }
  }
  return seen > 0 ? (ticks * 1000) / CLOCK_TICKS : undefined;
}

/** This machine's CPU time so far, in all and stolen by the hypervisor (/proc/stat; zeros without it). */
async function machineCpu(): Promise<{ total: number; steal: number }> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: ticks.reduce((t, x) => t + x, 0), steal: ticks[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 };
  }
}

/**
 * Runs `run` (which moves `items` items) and measures its cost per item. The WAL is the server's
 * (nothing else writes to it during the bench); the CPU is this process's, so for the baseline it is
 * the client's alone and for the service the service's and its client's; the server's CPU is its
 * processes', when it runs here.
 */
async function costOf<T>(
  sql: postgres.Sql,
  items: number,
  run: () => Promise<T>,
): Promise<{ result: T; cost: Cost }> {
  const [before] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
  const server = await serverCpuMs(sql);
  const machine = await machineCpu();
  const cpu = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(cpu);
  const machineAfter = await machineCpu();
  const serverAfter = await serverCpuMs(sql);
  const [after] = await sql<{ bytes: string }[]>`
    select pg_wal_lsn_diff(pg_current_wal_lsn(), ${before!.lsn}::pg_lsn)::bigint::text as bytes`;
  const machineTotal = machineAfter.total - machine.total;
  return {
    result,
    cost: {
      walBytes: Number(after!.bytes) / items,
      cpuMs: (used.user + used.system) / 1000 / items,
      serverCpuMs:
        server === undefined || serverAfter === undefined ? undefined : (serverAfter - server) / items,
      steal: machineTotal > 0 ? (machineAfter.steal - machine.steal) / machineTotal : 0,
    },
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Removes work left open by a run that stalled (only that: deleting every row would empty the statistics). */
async function clearQueue(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`delete from work_items where state = 'open'`;
  await sql.end();
}

// (c) -------------------------------------------------------------------------------------------
/**
 * Claims timed per depth in (c), after CLAIM_WARMUP untimed ones. A p99 of a few hundred claims is the
 * few slowest, which on a shared 2-core machine are whatever the scheduler did then: with 350 the
 * ratio ran from 0.86 to 2.86 in four runs of one build; with 2,000, from 0.55 to 0.96 in four.
 */
const CLAIM_SAMPLES = 2000;
const CLAIM_WARMUP = 50;

interface Latency {
  p50: number;
  p99: number;
}

async function claimLatency(runtime: Runtime, url: string, depth: number): Promise<Latency> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  // Fill the queue in bulk (through SQL: 100,000 submissions one by one would take minutes).
  await sql`delete from steps`;
  await sql`delete from work_items`;
  await sql.unsafe(`
    with i as (
      insert into work_items (id, kind, state, priority, traceparent, created_by, created_at, updated_at)
      select gen_random_uuid(), 'bench', 'open', (g % 100), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'bench', now() - (g || ' ms')::interval, now()
      from generate_series(1, ${depth}) g returning id, priority, created_at
    )
    insert into steps (id, work_item_id, seq, capability, state, attempt, priority, queued_at, eligible_nodes, routing, tier, rank_at)
    select gen_random_uuid(), i.id, 1, 'bench.work', 'queued', 1, i.priority, i.created_at, '{bench-agent}', 'routable', 0,
      i.created_at - i.priority * interval '60 seconds'
    from i`);
  await sql`analyze steps`;
  await sql.end();
  const samples: number[] = [];
  for (let i = 0; i < CLAIM_WARMUP + CLAIM_SAMPLES; i++) {
    const t0 = performance.now();
    const [c] = await claimSteps(runtime, operator, { nodeId: 'bench-agent' });
    const ms = performance.now() - t0;
    if (!c) throw new Error('queue ran dry');
    if (i >= CLAIM_WARMUP) samples.push(ms);
    // Keep the depth: finish the claimed step and queue a new one (not timed).
    await completeStep(runtime, operator, {
      workItemId: c.workItem.id,
      stepId: c.step.id,
      leaseToken: c.lease.token,
      result: null,
    });
    await submitWorkItem(runtime, operator, { kind: 'bench', capability: 'bench.work', priority: i % 100 });
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function main(): Promise<void> {
  benchEligibility();
  const base = process.env.DATABASE_URL;
  if (!base) {
    process.stderr.write('DATABASE_URL is not set: skipping the PostgreSQL figures (b)–(d)\n');
    return;
  }
  const name = `flowmesh_bench_route_${process.pid}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  let runtime: Runtime | undefined;
  try {
    const open = () =>
      createRuntime(
        parseConfig({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '20', FLOWMESH_LOG_LEVEL: 'silent' }),
        { network: benchNetwork, policies: [] },
      );
    runtime = await open();
    // (b) and (d) run first, on the new database. After (c) deletes its 100,000 rows, autovacuum
    // analyzes the tables as empty; plans cached in sessions then (the foreign-key check of each
    // step insert, for one) scan the whole table as it grows, and (b) measured that transient.
    // Steady state on both sides: each is warmed up by WARMUP_RUNS runs of the same size (connections
    // open, statements prepared, code compiled by the JIT), then they take turns, ROUNDS runs each, so
    // a change in the machine's load falls on both; the figures are the medians.
    const base = await openBaseline(url.toString());
    const baseRates: number[] = [];
    const rates: Rate[] = [];
    const baseCosts: Cost[] = [];
    const costs: Cost[] = [];
    try {
      for (let i = 0; i < WARMUP_RUNS; i++) {
        await endToEnd(runtime, ITEMS, 1);
        await base.cycle(ITEMS);
      }
      for (let i = 0; i < ROUNDS; i++) {
        const b = await costOf(admin, ITEMS, () => base.cycle(ITEMS));
        baseRates.push(b.result);
        baseCosts.push(b.cost);
        const r = await costOf(admin, ITEMS, () => endToEnd(runtime!, ITEMS, 1));
        rates.push(r.result);
        costs.push(r.cost);
      }
    } finally {
      await base.close();
    }
    const baseRate = median(baseRates);
    const rate = median(rates.map((r) => r.perSecond));
    const stalled = rates.reduce((t, r) => t + r.stalled, 0);
    print('baseline_items_per_s', baseRate, { claimers: CLAIMERS, rounds: rounds(baseRates) });
    print('end_to_end_items_per_s', rate, {
      claimers: CLAIMERS,
      max: 1,
      stalled,
      rounds: rounds(rates.map((r) => r.perSecond)),
    });
    // Each round's own ratio (service run over the baseline run just before it), to show the spread.
    const roundRatios = rates.map((r, i) => round2(r.perSecond / baseRates[i]!));
    print('ratio_to_baseline', rate / baseRate, { target: '>= 0.5', rounds: roundRatios });
    // What each side costs per item, to read the ratio by: the WAL PostgreSQL writes (rows and index
    // entries the data model requires) and the CPU of this process (the service and its client, or
    // the baseline's client alone). Medians of the measured runs.
    const perItem: [string, number[]][] = [
      ['baseline_wal_bytes_per_item', baseCosts.map((c) => c.walBytes)],
      ['end_to_end_wal_bytes_per_item', costs.map((c) => c.walBytes)],
      ['baseline_client_cpu_ms_per_item', baseCosts.map((c) => c.cpuMs)],
      ['end_to_end_service_and_client_cpu_ms_per_item', costs.map((c) => c.cpuMs)],
    ];
    for (const [figure, xs] of perItem) print(figure, median(xs), { rounds: xs.map(round2) });
    // The server's CPU per item, where it can be read (a server on this machine): with the client's, the
    // whole cost of an item on each side. The ratio above follows the ratio of these totals.
    const serverSides: [string, Cost[]][] = [
      ['baseline_server_cpu_ms_per_item', baseCosts],
      ['end_to_end_server_cpu_ms_per_item', costs],
    ];
    for (const [figure, cs] of serverSides) {
      const xs = cs.flatMap((c) => (c.serverCpuMs === undefined ? [] : [c.serverCpuMs]));
      if (xs.length === cs.length) print(figure, median(xs), { rounds: xs.map(round2) });
    }
    const steal = [...baseCosts, ...costs].map((c) => c.steal);
    print('cpu_steal_share', median(steal), { rounds: steal.map(round2) });
    // A fresh instance, so that anything left over from the run above does not count here.
    void runtime.close().catch(() => {});
    runtime = await open();
    await clearQueue(url.toString());
    // The same steady state: a warm-up run on the new instance, then the median of BATCHED_ROUNDS runs.
    await endToEnd(runtime, ITEMS, 20);
    const batched: Rate[] = [];
    for (let i = 0; i < BATCHED_ROUNDS; i++) batched.push(await endToEnd(runtime, ITEMS, 20));
    const batchedRate = median(batched.map((r) => r.perSecond));
    print('end_to_end_batched_items_per_s', batchedRate, {
      claimers: CLAIMERS,
      max: 20,
      stalled: batched.reduce((t, r) => t + r.stalled, 0),
      rounds: rounds(batched.map((r) => r.perSecond)),
    });
    print('batched_ratio_to_baseline', batchedRate / baseRate);
    const small = await claimLatency(runtime, url.toString(), 100);
    const large = await claimLatency(runtime, url.toString(), 100_000);
    print('claim_p99_ms_100_queued', small.p99, { p50: round2(small.p50), samples: CLAIM_SAMPLES });
    print('claim_p99_ms_100000_queued', large.p99, { p50: round2(large.p50), samples: CLAIM_SAMPLES });
    print('claim_p99_ratio', large.p99 / small.p99, { target: '<= 2' });
  } finally {
    await Promise.race([runtime?.close(), new Promise((r) => setTimeout(r, 5_000))]);
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
