// Every item that ends gets its root span (submission → end), however it ended: cancelled while
// queued or while claimed, cancelled from an escalation, or done at the end of its value stream. Lead time, WIP and the map's
// end states are read from those spans.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValueStream } from '../../telemetry/value-stream.js';
import { act, claim } from '../capabilities/helpers.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

const MIN = 60_000;
/** Escalates on admission: an escalation of the item, not of a step. */
const FRAUD_ESCALATES = `
- id: fraud-escalates
  on: admit
  when: item.kind == "fraud.report"
  escalate: { severity: high, reason: a fraud report arrived }
`;

interface TraceSpan {
  name: string;
  source: string;
  hop: string | null;
  outcome: string | null;
  startAt: string;
  endAt: string;
  attributes: Record<string, unknown>;
}

describe('the item span', () => {
  let t: TestRuntime;

  beforeAll(async () => {
    t = await createTestRuntime({ policies: [{ file: 'rules.yaml', text: FRAUD_ESCALATES }] });
  });
  afterAll(() => t.close());

  const submit = async (body: Record<string, unknown>) => {
    const res = await t.request<{ id: string }>('POST', '/v1/work-items', { body });
    expect(res.status, res.text).toBe(201);
    return res.body.id;
  };
  const itemSpans = async (id: string) => {
    await t.runtime.telemetry.flushStore();
    const res = await t.request<{ spans: TraceSpan[] }>('GET', `/v1/work-items/${id}/trace`);
    expect(res.status, res.text).toBe(200);
    return res.body.spans.filter((s) => s.source === 'item');
  };

  it('is written for an item cancelled while its step waits', async () => {
    const submittedAt = t.clock.now().getTime();
    const id = await submit({ kind: 'question', capability: 'kb.answer', title: 'never mind' });
    t.clock.advance(10 * MIN);
    const res = await t.request('POST', `/v1/work-items/${id}/cancel`, { body: { reason: 'asked twice' } });
    expect(res.status, res.text).toBe(200);
    const spans = await itemSpans(id);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({
      name: 'flowmesh.work_item',
      outcome: 'cancelled',
      startAt: new Date(submittedAt).toISOString(),
      endAt: new Date(submittedAt + 10 * MIN).toISOString(),
      attributes: { 'flowmesh.work_item.state': 'cancelled' },
    });
  });

  it('is written for an item cancelled while a node holds its step', async () => {
    const id = await submit({ kind: 'question', capability: 'kb.answer', priority: 100 });
    const held = await claim(t, 'support-team');
    expect(held?.workItem.id).toBe(id);
    t.clock.advance(3 * MIN);
    expect((await t.request('POST', `/v1/work-items/${id}/cancel`)).status).toBe(200);
    expect((await itemSpans(id)).map((s) => s.outcome)).toEqual(['cancelled']);
    // The holder's late completion changes nothing and writes no second item span.
    expect((await act(t, 'complete', held!, { result: { answer: 'too late' } })).status).toBe(409);
    expect(await itemSpans(id)).toHaveLength(1);
  });

  it('puts cancelled items in the map: started, not done, ending at cancelled', async () => {
    const res = await t.request<ValueStream>('GET', '/v1/value-streams/question');
    expect(res.status, res.text).toBe(200);
    expect(res.body.items).toEqual({ started: 2, done: 0, wip: 0 });
    expect(res.body.edges.find((e) => e.to === 'cancelled')).toMatchObject({
      from: 'kb.answer',
      count: 2,
    });
  });

  it('is written for an item cancelled from an escalation that names no step', async () => {
    const id = await submit({ kind: 'fraud.report', capability: 'incident.triage' });
    const list = await t.request<{
      escalations: { id: string; workItemId: string; stepId: string | null }[];
    }>('GET', '/v1/escalations');
    const escalation = list.body.escalations.find((e) => e.workItemId === id);
    expect(escalation?.stepId).toBeNull();
    t.clock.advance(2 * MIN);
    const res = await t.request('POST', `/v1/escalations/${escalation?.id}/resolve`, {
      body: { action: 'cancel', note: 'a duplicate report' },
    });
    expect(res.status, res.text).toBe(200);
    expect((await itemSpans(id)).map((s) => s.outcome)).toEqual(['cancelled']);
  });

  it('is written for an item that is done at the end of its value stream', async () => {
    const id = await submit({ kind: 'refund', attributes: { amount: 120 }, payload: { text: 'refund 120' } });
    for (const node of ['support-team', 'refund-agent', 'billing-team']) {
      const c = await claim(t, node);
      expect(c?.workItem.id).toBe(id);
      t.clock.advance(MIN);
      const done = await act(t, 'complete', c!, { result: { eligible: true }, confidence: 0.95 });
      expect(done.status, done.text).toBe(200);
    }
    expect((await t.request<{ state: string }>('GET', `/v1/work-items/${id}`)).body.state).toBe('done');
    expect((await itemSpans(id)).map((s) => s.outcome)).toEqual(['done']);
  });
});
