// The realized value stream rebuilt from hop spans, checked against numbers worked out by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listItemSpans, listKindSpans } from '../../store/spans.js';
import { valueStreamFromSpans } from '../../telemetry/service.js';
import type { ValueStream } from '../../telemetry/value-stream.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { MIN, type PlayedItem, playScript, T0 } from './scenario.js';

const from = new Date(T0).toISOString();
const to = new Date(T0 + 24 * 60 * MIN).toISOString();

describe('the realized value stream of the scripted refund scenario', () => {
  let t: TestRuntime;
  let vs: ValueStream;
  let played: PlayedItem[];

  beforeAll(async () => {
    t = await createTestRuntime();
    played = playScript(t.runtime.telemetry.hops);
    const res = await t.request<ValueStream>('GET', `/v1/value-streams/refund?from=${from}&to=${to}`);
    expect(res.status, res.text).toBe(200);
    vs = res.body;
  });
  afterAll(() => t.close());

  const step = (capability: string) => {
    const s = vs.steps.find((x) => x.capability === capability);
    if (!s) throw new Error(`no step ${capability} in ${vs.steps.map((x) => x.capability).join(', ')}`);
    return s;
  };
  const edge = (a: string, b: string) => vs.edges.find((e) => e.from === a && e.to === b);

  it('lists the steps along the flow, with the nodes that did them and their shares', () => {
    expect(vs.steps.map((s) => s.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'quality.review',
      'refund.approve',
      'refund.execute',
    ]);
    // triage: triage-agent did A, B, D (and E), support-team did C: 4 of 5 and 1 of 5.
    expect(step('intake.triage').nodes.map((n) => [n.nodeId, n.share])).toEqual([
      ['triage-agent', 0.8],
      ['support-team', 0.2],
    ]);
    // assess: refund-agent A, C, D's first pass; billing-team B and D's rework.
    expect(step('refund.assess').nodes.map((n) => [n.nodeId, n.share])).toEqual([
      ['refund-agent', 0.6],
      ['billing-team', 0.4],
    ]);
    expect(step('refund.approve').nodes).toEqual([
      { nodeId: 'billing-team', nodeKind: 'human_team', count: 3, share: 1 },
    ]);
  });

  it('counts the edges, including the handoff and the rework loop', () => {
    expect(edge('start', 'intake.triage')).toMatchObject({ count: 5, type: 'next' });
    expect(edge('intake.triage', 'refund.assess')).toMatchObject({ count: 4, type: 'next' });
    expect(edge('refund.assess', 'refund.execute')).toMatchObject({ count: 1, type: 'next' });
    // B and D go to approval; D's second approval follows its rework.
    expect(edge('refund.assess', 'refund.approve')).toMatchObject({ count: 3, rework: 1, type: 'next' });
    expect(edge('refund.approve', 'refund.assess')).toMatchObject({ count: 1, rework: 1, type: 'rework' });
    expect(edge('refund.assess', 'quality.review')).toMatchObject({ count: 1, handoffs: 1, type: 'handoff' });
    expect(edge('quality.review', 'refund.execute')).toMatchObject({ count: 1 });
    expect(edge('refund.approve', 'refund.execute')).toMatchObject({ count: 2 });
    expect(edge('refund.execute', 'done')).toMatchObject({ count: 4 });
    expect(vs.edges).toHaveLength(9);
  });

  it('computes wait and work percentiles per step by nearest rank', () => {
    // triage waits 10, 5, 10, 5, 5 → sorted 5 5 5 10 10: p50 is the 3rd (5), p85 and p95 the 5th (10).
    expect(step('intake.triage').wait).toEqual({
      count: 5,
      totalMs: 35 * MIN,
      p50: 5 * MIN,
      p85: 10 * MIN,
      p95: 10 * MIN,
    });
    // assess waits 30 20 30 15 5 → 5 15 20 30 30; work 20 25 10 15 10 → 10 10 15 20 25.
    expect(step('refund.assess').wait).toEqual({
      count: 5,
      totalMs: 100 * MIN,
      p50: 20 * MIN,
      p85: 30 * MIN,
      p95: 30 * MIN,
    });
    expect(step('refund.assess').work).toEqual({
      count: 5,
      totalMs: 80 * MIN,
      p50: 15 * MIN,
      p85: 25 * MIN,
      p95: 25 * MIN,
    });
    // approve waits 120 90 30 → 30 90 120: p50 is the 2nd (90), p85 the 3rd; the approval hop counts as work.
    expect(step('refund.approve').wait).toEqual({
      count: 3,
      totalMs: 240 * MIN,
      p50: 90 * MIN,
      p85: 120 * MIN,
      p95: 120 * MIN,
    });
    expect(step('refund.approve').work).toEqual({
      count: 3,
      totalMs: 25 * MIN,
      p50: 10 * MIN,
      p85: 10 * MIN,
      p95: 10 * MIN,
    });
    // execute waits 10 10 10 20: p50 the 2nd (10), p85 the 4th (20).
    expect(step('refund.execute').wait).toMatchObject({ p50: 10 * MIN, p85: 20 * MIN, totalMs: 50 * MIN });
  });

  it('stores the approval as an approval hop of its step', async () => {
    // B's third visit is its approval: route, wait, then the 10 minutes of approving.
    const b = played[1] as PlayedItem;
    const spans = await listItemSpans(t.runtime.store.db, b.workItemId);
    const approve = spans.filter((s) => s.stepId === b.stepIds[2]);
    expect(approve.map((s) => [s.name, s.hop, s.capability])).toEqual([
      ['flowmesh.route', 'route', 'refund.approve'],
      ['flowmesh.wait', 'wait', 'refund.approve'],
      ['flowmesh.approval', 'approval', 'refund.approve'],
    ]);
    const hop = approve[2];
    expect(hop && hop.endAt.getTime() - hop.startAt.getTime()).toBe(10 * MIN);
  });

  it('computes lead time, flow efficiency and throughput over the finished items', () => {
    // Leads: A 80, B 200, C 150, D 215 minutes → sorted 80 150 200 215: p50 150, p85 and p95 215.
    expect(vs.leadTime).toEqual({
      count: 4,
      totalMs: 645 * MIN,
      p50: 150 * MIN,
      p85: 215 * MIN,
      p95: 215 * MIN,
    });
    // Work: A 30, B 45, C 40, D 50 = 165 minutes of 645 minutes of lead time.
    expect(vs.flowEfficiency).toBeCloseTo(165 / 645, 10);
    // Four done in a one-day window.
    expect(vs.throughput).toEqual({ done: 4, perDay: 4 });
    expect(vs.items).toEqual({ started: 5, done: 4, wip: 0 });
  });

  it('names the step with the largest share of waiting as the bottleneck and explains it', () => {
    // Waiting: triage 35 + assess 100 + review 60 + approve 240 + execute 50 = 485 minutes; approve 240 of it.
    expect(vs.bottleneck?.capability).toBe('refund.approve');
    expect(vs.bottleneck?.waitShare).toBeCloseTo(240 / 485, 10);
    expect(vs.bottleneck?.explanation).toContain('refund.approve holds 49 % of all waiting');
    expect(vs.bottleneck?.explanation).toContain('waits 2h there at p85 against 10m of work');
  });

  it('gives the same map when computed in memory from the span rows as in SQL', async () => {
    const rows = await listKindSpans(t.runtime.store.db, 'refund', new Date(from), new Date(to));
    const inMemory = valueStreamFromSpans(rows, 'refund', { from: new Date(from), to: new Date(to) }, 0);
    expect(JSON.parse(JSON.stringify(inMemory))).toEqual(vs);
  });

  it('renders the map as Mermaid and SVG', async () => {
    const mermaid = await t.request('GET', `/v1/value-streams/refund?from=${from}&to=${to}&format=mermaid`);
    expect(mermaid.status).toBe(200);
    expect(mermaid.headers.get('content-type')).toContain('text/vnd.mermaid');
    expect(mermaid.text).toMatch(/^flowchart LR/);
    expect(mermaid.text).toContain('-.->|1 rework|');
    expect(mermaid.text).toContain('==>|1 handoff|');
    expect(mermaid.text).toContain('s1 -->|3 · 1 rework| s3');
    expect(mermaid.text).toContain('class s3 bottleneck');
    const svg = await t.request('GET', `/v1/value-streams/refund?from=${from}&to=${to}&format=svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    expect(svg.text).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.text.match(/<g class="step"/g)).toHaveLength(5);
    expect(svg.text).toContain('wait p50 1h 30m · p85 2h');
  });

  it('lists the kinds seen with their item counts and the first and last span times', async () => {
    const res = await t.request<{ valueStreams: { kind: string; items: number }[] }>(
      'GET',
      '/v1/value-streams',
    );
    expect(res.status).toBe(200);
    const spans = await listKindSpans(t.runtime.store.db, 'refund', new Date(from), new Date(to));
    const firstAt = Math.min(...spans.map((s) => s.startAt.getTime()));
    const lastAt = Math.max(...spans.map((s) => s.endAt.getTime()));
    expect(res.body.valueStreams).toEqual([
      {
        kind: 'refund',
        items: 5,
        wip: 0,
        firstAt: new Date(firstAt).toISOString(),
        lastAt: new Date(lastAt).toISOString(),
      },
    ]);
  });

  it('answers 404 for a kind never seen and 422 for an empty window', async () => {
    expect((await t.request('GET', '/v1/value-streams/payroll')).status).toBe(404);
    const res = await t.request('GET', `/v1/value-streams/refund?from=${to}&to=${from}`);
    expect(res.status).toBe(422);
    expect((await t.request('GET', '/v1/value-streams/refund?from=yesterday')).status).toBe(400);
  });
});
