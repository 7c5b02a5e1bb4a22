import { createEventFeed } from '../capabilities/event-feed.js';
import { submitWorkItem } from '../capabilities/work-items.js';
import { parseConfig } from '../server/config.js';
import { createRuntime } from '../server/runtime.js';
import { readEventLog } from '../store/event-log.js';
import { SubmitWorkItemSchema } from '../work/work-item.js';
import { type Db, percentile, prepareDatabase } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 100);
const RATE_PER_S = Number(process.env.BENCH_RATE ?? 50);

function print(db: Db, figure: string, value: number, extra: Record<string, unknown> = {}): void {
  const v = Math.round(value * 100) / 100;
  process.stdout.write(`${JSON.stringify({ bench: 'events', db, figure, value: v, ...extra })}\n`);
}

async function bench(db: Db): Promise<void> {
  const prepared = await prepareDatabase(db, 'events');
  const runtime = await createRuntime(parseConfig({ FLOWMESH_LOG_LEVEL: 'silent', ...prepared.env }));
  const principal = { id: 'bench', name: 'bench', role: 'admin' as const, nodeId: null };
  const input = SubmitWorkItemSchema.parse({
    kind: 'support.question',
    capability: 'kb.answer',
    priority: 40,
  });
  const feed = createEventFeed({ store: runtime.store, clock: runtime.clock, logger: runtime.logger });
  try {
    // What one poll costs when nothing is new (the price of following the log while idle).
    const latest = await feed.refresh();
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await readEventLog(runtime.store.db, { after: latest, limit: 500 });
      idle.push(performance.now() - t0);
    }
    idle.sort((a, b) => a - b);
    print(db, 'idle_poll_p50_ms', percentile(idle, 50));

    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let running = true;
    const subs = await Promise.all(
      Array.from({ length: SUBSCRIBERS }, () =>
        feed.subscribe({ filter: { types: ['work_item.created'], kinds: [] } }),
      ),
    );
    const readers = subs.map(async (sub, i) => {
      while (running) {
        for (const e of await sub.next(500)) {
          const t0 = sentAt.get(e.workItemId);
          if (t0 !== undefined && i === 0) latencies.push(performance.now() - t0);
        }
      }
    });
    const until = performance.now() + SECONDS * 1000;
    let written = 0;
    while (performance.now() < until) {
      const t0 = performance.now();
      const out = await submitWorkItem(runtime, principal, input);
      if (out.kind === 'created') sentAt.set(out.item.id, t0);
      written++;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / RATE_PER_S - (performance.now() - t0))));
    }
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    for (const s of subs) s.close();
    await Promise.all(readers);
    latencies.sort((a, b) => a - b);
    const extra = { subscribers: SUBSCRIBERS, items: written, pollMs: 200 };
    print(db, 'delivery_p50_ms', percentile(latencies, 50), extra);
    print(db, 'delivery_p99_ms', percentile(latencies, 99), extra);
    print(db, 'delivered_share', latencies.length / Math.max(1, written), extra);
  } finally {
    feed.close();
    await runtime.close();
    await prepared.cleanup();
  }
}

await bench('pglite');
if (process.env.DATABASE_URL) await bench('postgres');
