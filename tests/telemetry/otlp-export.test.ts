// Spans leave through the real OTLP/HTTP exporter, set up from OTEL_* variables, to an in-test receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepSpanId } from '../../work/trace-context.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const MIN = 60_000;

describe.each([
  { protocol: undefined, contentType: 'application/json' },
  { protocol: 'http/json', contentType: 'application/json' },
  { protocol: 'http/protobuf', contentType: 'application/x-protobuf' },
])('trace export over OTLP/HTTP (OTEL_EXPORTER_OTLP_PROTOCOL=$protocol)', ({ protocol, contentType }) => {
  let receiver: OtlpReceiver;
  let t: TestRuntime;
  let itemId: string;
  let stepId: string;
  let claimTraceparent: string;
  let submittedAt: number;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await createTestRuntime({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'flowmesh-under-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=flow',
        ...(protocol ? { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } : {}),
      },
    });
    submittedAt = t.clock.now().getTime();
    const submitted = await t.request<{ id: string; traceId: string; steps: { id: string }[] }>(
      'POST',
      '/v1/work-items',
      {
        body: { kind: 'question', title: 'Where is my parcel?', capability: 'kb.answer' },
        headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      },
    );
    expect(submitted.status, submitted.text).toBe(201);
    itemId = submitted.body.id;
    t.clock.advance(10 * MIN);
    const claim = await t.request<{ step: { id: string }; lease: { token: string }; traceparent: string }>(
      'POST',
      '/v1/nodes/support-team/claims',
    );
    expect(claim.status, claim.text).toBe(200);
    stepId = claim.body.step.id;
    claimTraceparent = claim.body.traceparent;
    t.clock.advance(4 * MIN); // inside kb.answer's 5-minute lease
    const done = await t.request('POST', `/v1/work-items/${itemId}/complete`, {
      body: { stepId, leaseToken: claim.body.lease.token, result: { answer: 'on its way' } },
    });
    expect(done.status, done.text).toBe(200);
    await t.runtime.telemetry.forceFlush();
    spans = receiver.spans;
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const named = (name: string) => spans.filter((s) => s.name === name);
  const one = (name: string) => {
    const found = named(name);
    expect(found, `${name} among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
    return found[0] as ReceivedSpan;
  };

  it('continues the caller’s traceparent: the item’s trace is the caller’s trace', async () => {
    const item = await t.request<{ traceId: string }>('GET', `/v1/work-items/${itemId}`);
    expect(item.body.traceId).toBe(CALLER_TRACE);
    const submitSpan = one('POST /v1/work-items');
    expect(submitSpan).toMatchObject({ traceId: CALLER_TRACE, parentSpanId: CALLER_SPAN, kind: 2 });
    expect(submitSpan.attributes).toMatchObject({
      'http.route': '/v1/work-items',
      'http.response.status_code': 201,
    });
  });

  it('exports route, wait and work hops as children of the item’s root span, in one trace', () => {
    const root = one('flowmesh.work_item');
    expect(root.traceId).toBe(CALLER_TRACE);
    for (const name of ['flowmesh.route', 'flowmesh.wait', 'flowmesh.work']) {
      const hop = one(name);
      expect(hop.traceId).toBe(CALLER_TRACE);
      expect(hop.parentSpanId).toBe(root.spanId);
      expect(hop.kind).toBe(1);
    }
  });

  it('gives each hop its explicit start and end: wait from queued to claimed, work from claimed to done', () => {
    expect(one('flowmesh.wait')).toMatchObject({ startMs: submittedAt, endMs: submittedAt + 10 * MIN });
    expect(one('flowmesh.work')).toMatchObject({
      startMs: submittedAt + 10 * MIN,
      endMs: submittedAt + 14 * MIN,
    });
    expect(one('flowmesh.work_item')).toMatchObject({ startMs: submittedAt, endMs: submittedAt + 14 * MIN });
  });

  it('names the attributes as ARCHITECTURE.md does', async () => {
    const view = await t.request<{ steps: { eligibleNodes: string[]; exclusions: unknown[] }[] }>(
      'GET',
      `/v1/work-items/${itemId}`,
    );
    const routedTo = view.body.steps[0] as { eligibleNodes: string[]; exclusions: unknown[] };
    const work = one('flowmesh.work');
    expect(work.attributes).toMatchObject({
      'flowmesh.work_item.id': itemId,
      'flowmesh.work_item.kind': 'question',
      'flowmesh.step': stepId,
      'flowmesh.capability': 'kb.answer',
      'flowmesh.node.id': 'support-team',
      'flowmesh.node.kind': 'human_team',
      'flowmesh.hop': 'work',
      'flowmesh.attempt': 1,
    });
    expect(one('flowmesh.wait').attributes).toMatchObject({
      'flowmesh.hop': 'wait',
      'flowmesh.node.id': 'support-team',
    });
    expect(one('flowmesh.route').attributes).toMatchObject({
      'flowmesh.hop': 'route',
      'flowmesh.capability': 'kb.answer',
    });
    // The route decision on the span is the one stored with the step.
    const route = one('flowmesh.route').attributes;
    expect(String(route['flowmesh.route.eligible_nodes']).split(',')).toEqual(routedTo.eligibleNodes);
    expect(routedTo.eligibleNodes).toContain('support-team');
    expect(JSON.parse(String(route['flowmesh.route.exclusions']))).toEqual(routedTo.exclusions);
    expect(route['flowmesh.route.tier']).toBe(0);
    expect(one('flowmesh.work_item').attributes).toMatchObject({ 'flowmesh.work_item.state': 'done' });
  });

  it('hands the claimer the step’s traceparent: the item’s trace, under the work span recorded later', () => {
    expect(claimTraceparent).toBe(`00-${CALLER_TRACE}-${stepSpanId(stepId, 1)}-01`);
    expect(one('flowmesh.work').spanId).toBe(stepSpanId(stepId, 1));
  });

  it('describes the service with OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(one('flowmesh.work').resource).toMatchObject({
      'service.name': 'flowmesh-under-test',
      'deployment.environment': 'test',
      team: 'flow',
    });
    const traceRequests = receiver.requests.filter((r) => r.path === '/v1/traces');
    expect(traceRequests.length).toBeGreaterThan(0);
    expect(traceRequests.every((r) => r.contentType?.startsWith(contentType))).toBe(true);
  });

  it('shows the same hops at /v1/work-items/:id/trace, in time order', async () => {
    const res = await t.request<{
      traceId: string;
      spans: { name: string; hop: string | null; nodeId: string | null }[];
    }>('GET', `/v1/work-items/${itemId}/trace`);
    expect(res.status).toBe(200);
    expect(res.body.traceId).toBe(CALLER_TRACE);
    expect(res.body.spans.map((s) => s.name)).toEqual([
      'flowmesh.work_item',
      'flowmesh.route',
      'flowmesh.wait',
      'flowmesh.work',
    ]);
    expect(res.body.spans.at(-1)).toMatchObject({ hop: 'work', nodeId: 'support-team' });
  });

  it('gives each stored hop at /v1/work-items/:id/trace the attributes its exported span carries', async () => {
    const res = await t.request<{ spans: { name: string; attributes: Record<string, unknown> }[] }>(
      'GET',
      `/v1/work-items/${itemId}/trace`,
    );
    for (const name of ['flowmesh.work_item', 'flowmesh.route', 'flowmesh.wait', 'flowmesh.work']) {
      const stored = res.body.spans.find((s) => s.name === name);
      // The store keeps what has a column of its own only in the column; the trace puts it back.
      expect(stored?.attributes, name).toEqual(one(name).attributes);
    }
  });
});
