// A handoff: the time the node worked before handing off is a work hop of the step (counted as work in
// the value stream), and the handoff is a moment, marking the edge to the next capability.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValueStream } from '../../telemetry/value-stream.js';
import { act, claim } from '../capabilities/helpers.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

const MIN = 60_000;

interface TraceSpan {
  hop: string | null;
  capability: string | null;
  nodeId: string | null;
  outcome: string | null;
  durationMs: number;
}

describe('handoff hops', () => {
  let t: TestRuntime;
  let itemId: string;

  beforeAll(async () => {
    t = await createTestRuntime();
    const sub = await t.request<{ id: string }>('POST', '/v1/work-items', {
      body: { kind: 'escalated-question', capability: 'kb.answer' },
    });
    expect(sub.status, sub.text).toBe(201);
    itemId = sub.body.id;
    t.clock.advance(4 * MIN);
    const answer = await claim(t, 'kb-agent');
    expect(answer?.step.capability).toBe('kb.answer');
    t.clock.advance(3 * MIN);
    const handed = await act(t, 'handoff', answer!, {
      capability: 'refund.assess',
      reason: 'needs a refund',
    });
    expect(handed.status, handed.text).toBe(200);
  });
  afterAll(() => t.close());

  it('records the work before the handoff as a work hop, and the handoff as a moment', async () => {
    const res = await t.request<{ spans: TraceSpan[] }>('GET', `/v1/work-items/${itemId}/trace`);
    expect(res.status, res.text).toBe(200);
    const hops = res.body.spans.filter((s) => s.hop && s.capability === 'kb.answer');
    expect(hops.map((s) => [s.hop, s.outcome, s.durationMs])).toEqual([
      ['route', 'routed', 0],
      ['wait', 'claimed', 4 * MIN],
      ['work', 'handed_off', 3 * MIN],
      ['handoff', 'handed_off', 0],
    ]);
    expect(hops.find((s) => s.hop === 'work')?.nodeId).toBe('kb-agent');
  });

  it('counts that work in the value stream and draws the edge as a handoff', async () => {
    const res = await t.request<ValueStream>('GET', '/v1/value-streams/escalated-question');
    expect(res.status, res.text).toBe(200);
    const answer = res.body.steps.find((s) => s.capability === 'kb.answer');
    expect(answer).toMatchObject({ wait: { totalMs: 4 * MIN }, work: { totalMs: 3 * MIN } });
    expect(res.body.edges.find((e) => e.from === 'kb.answer' && e.to === 'refund.assess')).toMatchObject({
      handoffs: 1,
      type: 'handoff',
    });
  });
});
