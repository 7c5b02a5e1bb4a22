// Flow metrics over the span store (GET /v1/metrics/flow) and the OpenTelemetry metrics at /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowMetrics } from '../../telemetry/service.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { startOtlpReceiver } from './otlp-receiver.js';
import { MIN, playScript, T0 } from './scenario.js';

const window = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 24 * 60 * MIN).toISOString()}`;

describe('flow metrics', () => {
  let t: TestRuntime;

  beforeAll(async () => {
    t = await createTestRuntime();
    playScript(t.runtime.telemetry.hops);
    // Live state: two questions queued at 09:00, one claimed by support-team at 09:20.
    for (const title of ['first', 'second']) {
      const res = await t.request('POST', '/v1/work-items', {
        body: { kind: 'question', title, capability: 'kb.answer' },
      });
      expect(res.status, res.text).toBe(201);
    }
    t.clock.advance(20 * MIN);
    expect((await t.request('POST', '/v1/nodes/support-team/claims')).status).toBe(200);
    t.clock.advance(10 * MIN);
  });
  afterAll(() => t.close());

  const flow = async (groupBy: string) => {
    const res = await t.request<FlowMetrics>('GET', `/v1/metrics/flow?groupBy=${groupBy}&${window}`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  it('groups by kind: velocity, flow time, load, efficiency and distribution', async () => {
    const m = await flow('kind');
    expect(m.groups).toHaveLength(1);
    expect(m.groups[0]).toEqual({
      key: 'refund',
      finished: 4,
      velocityPerDay: 4,
      flowTime: { p50: 150 * MIN, p85: 215 * MIN, p95: 215 * MIN },
      load: 0, // the scripted items have no rows in work_items; live WIP counts only real open items
      flowEfficiency: 165 / 645,
      distribution: 1,
    });
  });

  it('groups by capability: finished visits, their wait plus work, and the work share of it', async () => {
    const approve = (await flow('capability')).groups.find((g) => g.key === 'refund.approve');
    // Visits 120+10, 90+10 (rejected), 30+5 → sorted 35, 100, 130.
    expect(approve).toMatchObject({
      finished: 3,
      flowTime: { p50: 100 * MIN, p85: 130 * MIN, p95: 130 * MIN },
    });
    expect(approve?.flowEfficiency).toBeCloseTo(25 / 265, 10);
    const kb = (await flow('capability')).groups.find((g) => g.key === 'kb.answer');
    expect(kb).toBeUndefined(); // nothing finished there yet
  });

  it('groups by node with utilization: busy time over capacity time', async () => {
    const m = await flow('node');
    const billing = m.groups.find((g) => g.key === 'billing-team');
    // billing-team worked 25 + 10 + 10 + 10 + 5 = 60 minutes; capacity 4 over 1440 minutes.
    expect(billing).toMatchObject({ finished: 5, velocityPerDay: 5, load: 0 });
    expect(billing?.utilization).toBeCloseTo(60 / (4 * 1440), 12);
    expect(m.utilization.find((u) => u.nodeId === 'help-centre')).toEqual({
      nodeId: 'help-centre',
      capacity: 50,
      busyMs: 20 * MIN,
      utilization: 20 / (50 * 1440),
    });
    expect(m.groups.find((g) => g.key === 'support-team')).toMatchObject({ finished: 1, load: 1 });
  });

  it('rejects an unknown groupBy with the field named', async () => {
    const res = await t.request<{ errors: { path: string }[] }>('GET', '/v1/metrics/flow?groupBy=team');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toContain('groupBy');
  });

  it('rejects a window outside the years 1970 to 9999 with the field named', async () => {
    // A default `from` a week before to=0001-01-01 would be year 0, which the database does not store.
    for (const query of [
      'to=0001-01-01T00:00:00Z',
      'from=10000-01-01T00:00:00Z',
      'to=2026-02-30T00:00:00Z',
    ]) {
      const res = await t.request<{ errors: { path: string }[] }>('GET', `/v1/metrics/flow?${query}`);
      expect(res.status, query).toBe(400);
      expect(JSON.stringify(res.body.errors), query).toContain(query.slice(0, query.indexOf('=')));
    }
  });

  it('exposes queue depth, WIP, the oldest wait and a lead-time histogram in Prometheus text', async () => {
    const res = await t.runtime.app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const line = (re: RegExp) => text.split('\n').find((l) => re.test(l));
    expect(line(/^flowmesh_queue_depth\{.*flowmesh_capability="kb.answer".*\} 1$/), text).toBeDefined();
    expect(line(/^flowmesh_node_wip\{.*flowmesh_node_id="support-team".*\} 1$/), text).toBeDefined();
    // The second question has waited since 09:00, and the clock reads 09:30.
    expect(
      line(/^flowmesh_queue_oldest_wait\w*\{.*flowmesh_capability="kb.answer".*\} 1800$/),
      text,
    ).toBeDefined();
    expect(line(/^flowmesh_work_items_wip\{.*flowmesh_work_item_kind="question".*\} 2$/), text).toBeDefined();
    expect(
      line(/^flowmesh_lead_time\w*_count\{.*flowmesh_work_item_kind="refund".*\} 4$/),
      text,
    ).toBeDefined();
    // Leads of 80, 150, 200 and 215 minutes: 645 minutes in all.
    expect(
      line(/^flowmesh_lead_time\w*_sum\{.*flowmesh_work_item_kind="refund".*\} 38700$/),
      text,
    ).toBeDefined();
  });
});

describe.each([
  { protocol: 'http/json', contentType: 'application/json' },
  { protocol: 'http/protobuf', contentType: 'application/x-protobuf' },
])('OpenTelemetry metrics over OTLP/HTTP ($protocol)', ({ protocol, contentType }) => {
  it('exports queue depth, WIP, oldest wait and the lead-time histogram to the collector', async () => {
    const receiver = await startOtlpReceiver();
    const t = await createTestRuntime({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_METRIC_EXPORT_INTERVAL: '100',
      },
    });
    try {
      playScript(t.runtime.telemetry.hops);
      expect(
        (await t.request('POST', '/v1/work-items', { body: { kind: 'question', capability: 'kb.answer' } }))
          .status,
      ).toBe(201);
      // One claimed (WIP at support-team), one left queued.
      expect((await t.request('POST', '/v1/nodes/support-team/claims')).status).toBe(200);
      expect(
        (await t.request('POST', '/v1/work-items', { body: { kind: 'question', capability: 'kb.answer' } }))
          .status,
      ).toBe(201);
      // The exporter runs on real time (an export before the submissions has no queue to report):
      // wait until exports have carried every instrument, for 10 s at most.
      const names = [
        'flowmesh.queue.depth',
        'flowmesh.node.wip',
        'flowmesh.queue.oldest_wait',
        'flowmesh.lead_time',
      ];
      const carries = (name: string) => receiver.metrics.some((m) => m.body.includes(name));
      const deadline = Date.now() + 10_000;
      while (!names.every(carries) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const name of names) expect(carries(name), name).toBe(true);
      expect(receiver.metrics.every((m) => m.contentType?.startsWith(contentType))).toBe(true);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});
