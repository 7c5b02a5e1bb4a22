// Agent spans posted to /v1/traces reach the collector set by OTEL_EXPORTER_OTLP_ENDPOINT as the agent
// sent them: in the item's trace, under the step's work span, with the agent's own resource and scope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepSpanId } from '../../work/trace-context.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const RUN = 'a1a1a1a1a1a1a1a1';
const TOOL = 'b2b2b2b2b2b2b2b2';

interface Claimed {
  itemId: string;
  stepId: string;
  traceparent: string;
}

async function submitAndClaim(t: TestRuntime): Promise<Claimed> {
  const sub = await t.request<{ id: string }>('POST', '/v1/work-items', {
    body: { kind: 'question', title: 'Where is my parcel?', capability: 'kb.answer' },
    headers: { traceparent: `00-${CALLER_TRACE}-00f067aa0ba902b7-01` },
  });
  expect(sub.status, sub.text).toBe(201);
  const claim = await t.request<{ step: { id: string }; traceparent: string }>(
    'POST',
    '/v1/nodes/kb-agent/claims',
  );
  expect(claim.status, claim.text).toBe(200);
  return { itemId: sub.body.id, stepId: claim.body.step.id, traceparent: claim.body.traceparent };
}

/** An agent run under the claim's traceparent with one tool call inside it, as OTLP JSON. */
function agentRun(claimTraceparent: string, startMs: number) {
  const parent = claimTraceparent.split('-')[2];
  const nanos = (ms: number, extra = 0) => String(BigInt(ms) * 1_000_000n + BigInt(extra));
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'kb-agent' } },
            { key: 'service.version', value: { stringValue: '2.1.0' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'kb-agent.runtime', version: '0.4.0' },
            spans: [
              {
                traceId: CALLER_TRACE,
                spanId: RUN,
                parentSpanId: parent,
                name: 'invoke_agent kb-agent',
                kind: 1,
                startTimeUnixNano: nanos(startMs, 123_456),
                endTimeUnixNano: nanos(startMs + 3000),
                attributes: [
                  { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: '812' } },
                ],
              },
              {
                traceId: CALLER_TRACE,
                spanId: TOOL,
                parentSpanId: RUN,
                name: 'execute_tool search_kb',
                kind: 3,
                startTimeUnixNano: nanos(startMs + 1000),
                endTimeUnixNano: nanos(startMs + 2000),
                status: { code: 2, message: 'index timed out' },
                attributes: [{ key: 'gen_ai.tool.name', value: { stringValue: 'search_kb' } }],
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('agent spans forwarded to the collector', () => {
  let receiver: OtlpReceiver;
  let t: TestRuntime;
  let claimed: Claimed;
  let startMs: number;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await createTestRuntime({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'flowmesh-under-test' },
    });
    claimed = await submitAndClaim(t);
    startMs = t.clock.now().getTime();
    const res = await t.request('POST', '/v1/traces', { body: agentRun(claimed.traceparent, startMs) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({});
    await t.runtime.telemetry.forceFlush();
    spans = receiver.spans;
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const named = (name: string) => {
    const found = spans.filter((s) => s.name === name);
    expect(found, `${name} among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
    return found[0] as ReceivedSpan;
  };

  it('sends the agent’s run in the item’s trace, under the step’s work span, with its own ids', () => {
    expect(claimed.traceparent).toBe(`00-${CALLER_TRACE}-${stepSpanId(claimed.stepId, 1)}-01`);
    expect(named('invoke_agent kb-agent')).toMatchObject({
      traceId: CALLER_TRACE,
      spanId: RUN,
      parentSpanId: stepSpanId(claimed.stepId, 1),
      kind: 1,
      startNanos: String(BigInt(startMs) * 1_000_000n + 123_456n),
      endMs: startMs + 3000,
    });
    expect(named('execute_tool search_kb')).toMatchObject({
      traceId: CALLER_TRACE,
      spanId: TOOL,
      parentSpanId: RUN,
      kind: 3,
    });
  });

  it('keeps the agent’s attributes, resource and scope, not flowmesh’s', () => {
    const run = named('invoke_agent kb-agent');
    expect(run.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.usage.input_tokens': 812,
    });
    expect(run.resource).toMatchObject({ 'service.name': 'kb-agent', 'service.version': '2.1.0' });
    expect(run.scope).toEqual({ name: 'kb-agent.runtime', version: '0.4.0' });
    expect(named('execute_tool search_kb').attributes).toEqual({ 'gen_ai.tool.name': 'search_kb' });
  });

  it('still stores them with the item, attributed to the step', async () => {
    const res = await t.request<{ spans: { spanId: string; source: string; stepId: string | null }[] }>(
      'GET',
      `/v1/work-items/${claimed.itemId}/trace`,
    );
    const agent = res.body.spans.filter((s) => s.source === 'agent');
    expect(agent.map((s) => s.spanId).sort()).toEqual([RUN, TOOL]);
    expect(agent.every((s) => s.stepId === claimed.stepId)).toBe(true);
  });
});

describe('agent spans when the sampler drops the trace', () => {
  it('are stored but not sent, as flowmesh’s own spans are not', async () => {
    const receiver = await startOtlpReceiver();
    const t = await createTestRuntime({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_off' },
    });
    try {
      const claimed = await submitAndClaim(t);
      const body = agentRun(claimed.traceparent, t.clock.now().getTime());
      expect((await t.request('POST', '/v1/traces', { body })).status).toBe(200);
      await t.runtime.telemetry.forceFlush();
      expect(receiver.spans).toEqual([]);
      const res = await t.request<{ spans: { source: string }[] }>(
        'GET',
        `/v1/work-items/${claimed.itemId}/trace`,
      );
      expect(res.body.spans.filter((s) => s.source === 'agent')).toHaveLength(2);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});
