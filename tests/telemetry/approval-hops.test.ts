// Work on an approval step is an `approval` hop: the step's capability is one a completion policy
// requires, whether the policy inserted the step or the item was submitted straight to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValueStream } from '../../telemetry/value-stream.js';
import { act, claim } from '../capabilities/helpers.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

const MIN = 60_000;
const RULES = `
- id: big-payout-approval
  on: complete
  when: step.capability == "refund.assess" && has(item.attributes.amount) && item.attributes.amount > 500
  require: refund.approve
`;

interface TraceSpan {
  name: string;
  hop: string | null;
  capability: string | null;
  nodeId: string | null;
  durationMs: number;
}

async function hops(t: TestRuntime, itemId: string): Promise<string[]> {
  const res = await t.request<{ spans: TraceSpan[] }>('GET', `/v1/work-items/${itemId}/trace`);
  expect(res.status, res.text).toBe(200);
  return res.body.spans.filter((s) => s.hop).map((s) => `${s.capability} ${s.hop}`);
}

describe('approval hops', () => {
  let t: TestRuntime;
  let itemId: string;

  beforeAll(async () => {
    t = await createTestRuntime({ policies: [{ file: 'rules.yaml', text: RULES }] });
    const sub = await t.request<{ id: string }>('POST', '/v1/work-items', {
      body: { kind: 'payout', capability: 'refund.assess', attributes: { amount: 900 } },
    });
    expect(sub.status, sub.text).toBe(201);
    itemId = sub.body.id;
    t.clock.advance(5 * MIN);
    const assess = await claim(t, 'refund-agent');
    t.clock.advance(10 * MIN);
    const done = await act(t, 'complete', assess!, { result: { decision: 'pay' }, confidence: 0.95 });
    expect(done.status, done.text).toBe(200);
    t.clock.advance(30 * MIN);
    const approve = await claim(t, 'billing-team');
    expect(approve?.step.capability).toBe('refund.approve');
    t.clock.advance(15 * MIN);
    const approved = await act(t, 'complete', approve!, { result: { approved: true } });
    expect(approved.status, approved.text).toBe(200);
  });
  afterAll(() => t.close());

  it('records the work on a step a policy required as an approval hop', async () => {
    expect(await hops(t, itemId)).toEqual([
      'refund.assess route',
      'refund.assess wait',
      'refund.assess work',
      'refund.approve route',
      'refund.approve wait',
      'refund.approve approval',
    ]);
    const res = await t.request<{ spans: TraceSpan[] }>('GET', `/v1/work-items/${itemId}/trace`);
    expect(res.body.spans.find((s) => s.hop === 'approval')).toMatchObject({
      name: 'flowmesh.approval',
      nodeId: 'billing-team',
      durationMs: 15 * MIN,
    });
  });

  it('counts the approval as work of its step in the value stream', async () => {
    const res = await t.request<ValueStream>('GET', '/v1/value-streams/payout');
    expect(res.status, res.text).toBe(200);
    const approve = res.body.steps.find((s) => s.capability === 'refund.approve');
    expect(approve).toMatchObject({
      wait: { totalMs: 30 * MIN },
      work: { totalMs: 15 * MIN },
      nodes: [{ nodeId: 'billing-team', count: 1 }],
    });
    expect(res.body.flowEfficiency).toBeCloseTo(25 / 60, 10);
  });

  it('treats any step at an approval capability as one, and follows a policy reload', async () => {
    const direct = async () => {
      const sub = await t.request<{ id: string }>('POST', '/v1/work-items', {
        body: { kind: 'payout', capability: 'refund.approve' },
      });
      const c = await claim(t, 'billing-team');
      expect(c?.workItem.id).toBe(sub.body.id);
      expect((await act(t, 'complete', c!, { result: { decision: 'approve' } })).status).toBe(200);
      return (await hops(t, sub.body.id)).at(-1);
    };
    expect(await direct()).toBe('refund.approve approval');
    const reload = await t.runtime.policies.replace([{ file: 'rules.yaml', text: '[]' }], 'api');
    expect(reload.ok).toBe(true);
    expect(await direct()).toBe('refund.approve work');
  });
});
