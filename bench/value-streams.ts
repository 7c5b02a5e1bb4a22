// Figures for durable value streams: the cost of one checkpointed step on the store's checkpointer.
// Prints one JSON line per figure. PGlite in memory by default; with DATABASE_URL, that database (the
// bench deletes the threads it made).
import { StoreCheckpointSaver } from '../agents/checkpointer.js';
import { ValueStreamGraph } from '../agents/value-stream-graph.js';
import { loadNetworkFile } from '../capabilities/network-file.js';
import { openStore } from '../store/database.js';

const databaseUrl = process.env.DATABASE_URL;
const items = Number(process.env.BENCH_ITEMS ?? 50);
const store = await openStore({ databaseUrl, dataDir: 'memory://' });
const driver = store.kind;
const line = (figure: string, value: number, unit: string) =>
  console.log(
    JSON.stringify({
      bench: 'value-streams',
      figure,
      value: Math.round(value * 100) / 100,
      unit,
      driver,
      items,
    }),
  );

try {
  const network = await loadNetworkFile('examples/network.yaml');
  const refund = network.valueStreams.find((v) => v.kind === 'refund')!;
  const checkpointer = new StoreCheckpointSaver(store);
  const graph = new ValueStreamGraph(refund, { checkpointer, ports: { routeStep: async () => {} } });
  const run = Date.now().toString(16).slice(-6);
  const ids = Array.from(
    { length: items },
    (_, i) => `00000000-0000-4000-8000-${run}${String(i).padStart(6, '0')}`,
  );
  const steps: [string, unknown][] = [
    ['triage#1', {}],
    ['assess#1', { eligible: true }],
    ['approve#1', { decision: 'approve' }],
    ['execute#1', { paid: true }],
  ];
  try {
    const t0 = performance.now();
    for (const id of ids) await graph.start({ id, kind: 'refund', attributes: { amount: 900 } });
    const t1 = performance.now();
    for (const id of ids) for (const [key, result] of steps) await graph.completeStep(id, key, result);
    const t2 = performance.now();
    line('start_ms_per_item', (t1 - t0) / items, 'ms');
    line('complete_step_ms', (t2 - t1) / (items * steps.length), 'ms');
    line('refund_stream_ms_per_item', (t2 - t0) / items, 'ms');
    let checkpoints = 0;
    for await (const _ of checkpointer.list({ configurable: { thread_id: ids[0] } })) checkpoints++;
    line('checkpoints_per_item', checkpoints, 'rows');
  } finally {
    for (const id of ids) await checkpointer.deleteThread(id);
  }
} finally {
  await store.close();
}
