// The step visits the value stream is rebuilt from are kept up to date as spans are written: whatever
// order and batches the spans arrive in, they equal a rebuild from the stored spans, agent time
// included; the migration's backfill gives the same rows; retention keeps them consistent.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../store/migrate.js';
import { deleteSpansEndedBefore, insertSpans, rebuildStepVisits } from '../../store/span-writes.js';
import { listKindSpans, type StoredSpan } from '../../store/spans.js';
import { valueStreamFromSpans } from '../../telemetry/service.js';
import type { ValueStream } from '../../telemetry/value-stream.js';
import { parseTraceparent } from '../../work/ids.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { MIN, type PlayedItem, playScript, T0 } from './scenario.js';

const from = new Date(T0);
const to = new Date(T0 + 24 * 60 * MIN);
const window = `from=${from.toISOString()}&to=${to.toISOString()}`;

/** Agent spans on item A's assess visit (claimed at 45 min, worked until 65 min). */
function agentSpans(a: PlayedItem): StoredSpan[] {
  const traceId = parseTraceparent(a.traceparent)?.traceId as string;
  const span = (
    spanId: string,
    parent: string | null,
    startMin: number,
    endMin: number,
    step = 1,
  ): StoredSpan => ({
    traceId,
    spanId,
    parentSpanId: parent,
    name: `agent ${spanId}`,
    source: 'agent',
    hop: null,
    workItemId: a.workItemId,
    kind: 'refund',
    stepId: a.stepIds[step] as string,
    capability: step === 1 ? 'refund.assess' : 'refund.execute',
    nodeId: 'refund-agent',
    nodeKind: null,
    attempt: 1,
    outcome: null,
    startAt: new Date(T0 + startMin * MIN),
    endAt: new Date(T0 + endMin * MIN),
    attributes: {},
  });
  return [
    span('a000000000000001', null, 40, 44), // before the claim: 4 minutes of work
    span('a000000000000002', 'a000000000000001', 41, 42), // nested: not counted again
    span('a000000000000003', null, 50, 55), // inside the work hop: already counted
    span('a000000000000004', null, 60, 70), // runs past the work hop: 10 minutes of work
    // Nested under the first, though attributed to the execute step (worked 75 to 80 minutes).
    span('a000000000000005', 'a000000000000001', 81, 83, 2),
  ];
}

/** A deterministic shuffle, so a failure can be replayed. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('step visits', () => {
  let t: TestRuntime;
  let spans: StoredSpan[];

  const visits = () =>
    t.runtime.store.rows(sql`
      select work_item_id, step_id, kind, capability, first_at, wait_ms, work_ms, handed_off,
        array(select w || '/' || k from unnest(workers, worker_kinds) as u(w, k) order by 1) as workers,
        prev_capability, prev_handed_off, seen_before, last_visit, agent_spans, agent_work_ms
      from step_visits order by work_item_id, step_id`);
  const items = () => t.runtime.store.rows(sql`select * from span_items order by work_item_id`);
  const rebuilt = async () => {
    await t.runtime.store.transaction((tx) => rebuildStepVisits(t.runtime.store, tx));
    return { visits: await visits(), items: await items() };
  };
  const clear = () =>
    t.runtime.store.transaction(async (tx) => {
      for (const table of ['spans', 'step_visits', 'span_items'])
        await t.runtime.store.rows(sql`delete from ${sql.identifier(table)}`, tx);
    });
  const map = async () => {
    const res = await t.request<ValueStream>('GET', `/v1/value-streams/refund?${window}`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    t = await createTestRuntime();
    const played = playScript(t.runtime.telemetry.hops);
    await t.runtime.telemetry.flushStore();
    spans = [
      ...(await listKindSpans(t.runtime.store.db, 'refund', from, to)),
      ...agentSpans(played[0] as PlayedItem),
    ];
  });
  afterAll(() => t.close());

  it('count agent time outside the work hop, once, however the spans arrive', async () => {
    // Agent spans first, the nested ones before their parent, then the hops: each step of the way
    // the visits equal a rebuild from what is stored.
    await clear();
    const agent = spans.filter((s) => s.source === 'agent');
    const rest = spans.filter((s) => s.source !== 'agent');
    const batches = [[agent[4]], [agent[1]], [agent[0], agent[2]], [agent[3]], rest] as StoredSpan[][];
    for (const batch of batches) {
      await insertSpans(t.runtime.store, batch);
      const incremental = { visits: await visits(), items: await items() };
      expect(incremental).toEqual(await rebuilt());
    }
    const vs = await map();
    // Item A's assess: 20 minutes of work hop, 4 before the claim and 10 past the hop by the agent.
    // The other assess visits worked 25, 10, 15 and 10 minutes.
    expect(vs.steps.find((s) => s.capability === 'refund.assess')?.work).toMatchObject({
      count: 5,
      totalMs: (34 + 25 + 10 + 15 + 10) * MIN,
    });
    // Execute worked 5 minutes on each of the four items; the nested agent span adds nothing.
    expect(vs.steps.find((s) => s.capability === 'refund.execute')?.work.totalMs).toBe(20 * MIN);
    const inMemory = valueStreamFromSpans(spans, 'refund', { from, to }, 0);
    expect(JSON.parse(JSON.stringify(inMemory))).toEqual(vs);
  });

  it('equal a rebuild whatever order and batches the spans come in, duplicates included', async () => {
    let expected: unknown;
    for (const seed of [1, 7, 42]) {
      await clear();
      const order = shuffled([...spans, ...spans.slice(0, 9)], seed);
      for (let i = 0; i < order.length; ) {
        const size = 1 + ((seed * (i + 3)) % 11);
        await insertSpans(t.runtime.store, order.slice(i, i + size));
        i += size;
      }
      const incremental = { visits: await visits(), items: await items() };
      expect(incremental).toEqual(await rebuilt());
      expected ??= incremental;
      expect(incremental).toEqual(expected);
    }
  });

  it('reorder an item’s path when a step’s earlier hop arrives late', async () => {
    // Two steps of one item side by side: check is queued at 0 and worked 10 to 20 minutes, review
    // is queued at 5 and worked 6 to 30, by the billing team and then, on a second attempt, by the
    // quality team. Check's work hop comes first, then review, then check's route.
    await clear();
    const item = '01900000-0000-7000-8000-00000000000a';
    let n = 0;
    const hop = (
      step: string,
      capability: string,
      h: string,
      startMin: number,
      endMin: number,
      node = 'billing-team',
    ) =>
      ({
        traceId: 'f'.repeat(32),
        spanId: `b00000000000000${++n}`,
        parentSpanId: null,
        name: `flowmesh.${h}`,
        source: 'hop',
        hop: h,
        workItemId: item,
        kind: 'refund',
        stepId: step,
        capability,
        nodeId: h === 'route' ? null : node,
        nodeKind: h === 'route' ? null : 'human_team',
        attempt: 1,
        outcome: 'completed',
        startAt: new Date(T0 + startMin * MIN),
        endAt: new Date(T0 + endMin * MIN),
        attributes: {},
      }) satisfies StoredSpan;
    const check = '01900000-0000-7000-8000-0000000000c1';
    const review = '01900000-0000-7000-8000-0000000000c2';
    const batches: StoredSpan[][] = [
      [hop(check, 'refund.check', 'work', 10, 20)],
      [hop(review, 'quality.review', 'route', 5, 5), hop(review, 'quality.review', 'work', 6, 12)],
      [
        hop(check, 'refund.check', 'route', 0, 0),
        hop(review, 'quality.review', 'work', 12, 30, 'quality-team'),
      ],
    ];
    for (const batch of batches) await insertSpans(t.runtime.store, batch);
    const incremental = { visits: await visits(), items: await items() };
    expect(incremental).toEqual(await rebuilt());
    const vs = await map();
    expect(vs.edges.map((e) => `${e.from} → ${e.to}`)).toEqual([
      'start → refund.check',
      'refund.check → quality.review',
    ]);
    expect(vs.steps.find((s) => s.capability === 'quality.review')?.nodes).toEqual([
      { nodeId: 'billing-team', nodeKind: 'human_team', count: 1, share: 0.5 },
      { nodeId: 'quality-team', nodeKind: 'human_team', count: 1, share: 0.5 },
    ]);
    const inMemory = valueStreamFromSpans(batches.flat(), 'refund', { from, to }, 0);
    expect(JSON.parse(JSON.stringify(inMemory))).toEqual(vs);
  });

  it('are backfilled by the migration from spans stored before it', async () => {
    await clear();
    await insertSpans(t.runtime.store, spans);
    const incremental = { visits: await visits(), items: await items() };
    // 0009 builds visits and items; 0011 adds each item's last span end.
    const backfill: string[] = [];
    for (const [file, statements] of [
      ['0009_step_visits.sql', 3],
      ['0011_span_items_last_at.sql', 1],
    ] as const) {
      const migration = await readFile(join(MIGRATIONS_FOLDER, file), 'utf8');
      const found = migration
        .split('--> statement-breakpoint')
        .map((s) => s.trim())
        .filter((s) => /^(-- .*\n)*(WITH|INSERT|UPDATE)/.test(s));
      expect(found, file).toHaveLength(statements);
      backfill.push(...found);
    }
    await t.runtime.store.transaction(async (tx) => {
      await t.runtime.store.rows(sql`delete from step_visits`, tx);
      await t.runtime.store.rows(sql`delete from span_items`, tx);
      for (const statement of backfill) await t.runtime.store.rows(sql.raw(statement), tx);
    });
    expect({ visits: await visits(), items: await items() }).toEqual(incremental);
  });

  it('follow retention: the map after a sweep is the map of the spans that are left', async () => {
    await clear();
    await insertSpans(t.runtime.store, spans);
    // 100 minutes in: item A is gone, item B has lost its first hops, the others are whole.
    const cutoff = new Date(T0 + 100 * MIN);
    const deleted = await deleteSpansEndedBefore(t.runtime.store, cutoff);
    expect(deleted).toBeGreaterThan(0);
    const left = spans.filter((s) => s.endAt.getTime() >= cutoff.getTime());
    expect(await visits()).toEqual((await rebuilt()).visits);
    const vs = await map();
    expect(vs.items).toMatchObject({ started: 4, done: 3 });
    const inMemory = valueStreamFromSpans(left, 'refund', { from, to }, 0);
    expect(JSON.parse(JSON.stringify(inMemory))).toEqual(vs);
  });
});
