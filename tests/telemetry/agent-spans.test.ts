// Agent spans posted to /v1/traces (OTLP/HTTP JSON and protobuf) join the item's trace, count as work
// time of the step they were made under, and bad payloads get 400, never a crash.
import { gzipSync } from 'node:zlib';
import { context, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parentContext } from '../../telemetry/hops.js';
import { parseTraceparent } from '../../work/ids.js';
import { createTestRuntime, TEST_ADMIN_KEY, type TestRuntime } from '../support/runtime.js';

const MIN = 60_000;
const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);

interface Claimed {
  itemId: string;
  stepId: string;
  lease: string;
  traceparent: string;
}

async function submitAndClaim(t: TestRuntime, waitMin: number): Promise<Claimed> {
  const sub = await t.request<{ id: string }>('POST', '/v1/work-items', {
    body: { kind: 'refund-check', capability: 'refund.assess', attributes: { amount: 40 } },
  });
  expect(sub.status, sub.text).toBe(201);
  t.clock.advance(waitMin * MIN);
  const claim = await t.request<{ step: { id: string }; lease: { token: string }; traceparent: string }>(
    'POST',
    '/v1/nodes/refund-agent/claims',
  );
  expect(claim.status, claim.text).toBe(200);
  return {
    itemId: sub.body.id,
    stepId: claim.body.step.id,
    lease: claim.body.lease.token,
    traceparent: claim.body.traceparent,
  };
}

function otlpJson(
  traceparent: string,
  spans: { id: string; parent?: string; name: string; start: number; end: number }[],
) {
  const ctx = parseTraceparent(traceparent);
  if (!ctx) throw new Error('bad traceparent');
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'refund-agent' } }] },
        scopeSpans: [
          {
            scope: { name: 'agent' },
            spans: spans.map((s) => ({
              traceId: ctx.traceId,
              spanId: s.id,
              parentSpanId: s.parent ?? ctx.spanId,
              name: s.name,
              kind: 1,
              startTimeUnixNano: nanos(s.start),
              endTimeUnixNano: nanos(s.end),
              attributes: [
                { key: 'gen_ai.operation.name', value: { stringValue: s.name.split(' ')[0] } },
                { key: 'gen_ai.usage.input_tokens', value: { intValue: '812' } },
              ],
            })),
          },
        ],
      },
    ],
  };
}

async function post(
  t: TestRuntime,
  body: Uint8Array | string,
  contentType: string,
  extra: Record<string, string> = {},
) {
  const res = await t.runtime.app.request('/v1/traces', {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': contentType, ...extra },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

describe('agent spans at POST /v1/traces', () => {
  let t: TestRuntime;
  let claimed: Claimed;
  let start: number;

  beforeAll(async () => {
    t = await createTestRuntime();
    start = t.clock.now().getTime();
    claimed = await submitAndClaim(t, 10);
  });
  afterAll(() => t.close());

  const assess = async () => {
    const res = await t.request<{
      steps: { capability: string; wait: { totalMs: number }; work: { totalMs: number } }[];
    }>('GET', '/v1/value-streams/refund-check');
    expect(res.status, res.text).toBe(200);
    return res.body.steps.find((s) => s.capability === 'refund.assess');
  };

  it('accepts OTLP JSON spans made under the claim and counts them as work of that step', async () => {
    const claimedAt = start + 10 * MIN;
    const body = otlpJson(claimed.traceparent, [
      {
        id: 'a1a1a1a1a1a1a1a1',
        name: 'invoke_agent refund-agent',
        start: claimedAt,
        end: claimedAt + 3 * MIN,
      },
      // A model call inside the agent run: nested, so it adds no time of its own.
      {
        id: 'b2b2b2b2b2b2b2b2',
        parent: 'a1a1a1a1a1a1a1a1',
        name: 'chat model',
        start: claimedAt + MIN,
        end: claimedAt + 2 * MIN,
      },
    ]);
    const res = await t.request('POST', '/v1/traces', { body });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({});
    // The step is still claimed, so no work hop exists yet: the agent's own run is its work time.
    expect(await assess()).toMatchObject({ wait: { totalMs: 10 * MIN }, work: { totalMs: 3 * MIN } });
  });

  it('puts the agent spans in the item’s trace, attributed to the step', async () => {
    const res = await t.request<{
      traceId: string;
      spans: {
        name: string;
        source: string;
        stepId: string | null;
        traceId: string;
        attributes: Record<string, unknown>;
      }[];
    }>('GET', `/v1/work-items/${claimed.itemId}/trace`);
    expect(res.status).toBe(200);
    const agent = res.body.spans.filter((s) => s.source === 'agent');
    expect(agent.map((s) => s.name)).toEqual(['invoke_agent refund-agent', 'chat model']);
    for (const s of agent) {
      expect(s.traceId).toBe(res.body.traceId);
      expect(s.stepId).toBe(claimed.stepId);
    }
    expect(agent[0]?.attributes).toMatchObject({
      'service.name': 'refund-agent',
      'gen_ai.usage.input_tokens': 812,
    });
  });

  it('does not count agent time twice once the work hop covers it', async () => {
    t.clock.advance(4 * MIN);
    const done = await t.request('POST', `/v1/work-items/${claimed.itemId}/complete`, {
      body: { stepId: claimed.stepId, leaseToken: claimed.lease, result: { approve: true } },
    });
    expect(done.status, done.text).toBe(200);
    expect(await assess()).toMatchObject({ wait: { totalMs: 10 * MIN }, work: { totalMs: 4 * MIN } });
  });

  it('accepts protobuf made by the OpenTelemetry SDK and answers in protobuf', async () => {
    const second = await submitAndClaim(t, 1);
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('agent');
    const now = t.clock.now().getTime();
    const root = tracer.startSpan(
      'invoke_agent refund-agent',
      { startTime: now },
      parentContext(second.traceparent),
    );
    const child = tracer.startSpan(
      'execute_tool lookup_order',
      { startTime: now + 1000 },
      trace.setSpan(context.active(), root),
    );
    child.end(now + 2000);
    root.end(now + 5000);
    const bytes = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans());
    if (!bytes) throw new Error('nothing serialized');
    const res = await post(t, bytes, 'application/x-protobuf');
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/x-protobuf');
    expect(res.bytes).toHaveLength(0); // an empty ExportTraceServiceResponse: everything accepted
    const tr = await t.request<{
      spans: { name: string; source: string; stepId: string | null; parentSpanId: string | null }[];
    }>('GET', `/v1/work-items/${second.itemId}/trace`);
    const agent = tr.body.spans.filter((s) => s.source === 'agent');
    expect(agent.map((s) => s.name).sort()).toEqual([
      'execute_tool lookup_order',
      'invoke_agent refund-agent',
    ]);
    expect(agent.every((s) => s.stepId === second.stepId)).toBe(true);
    expect(agent.find((s) => s.name.startsWith('execute_tool'))?.parentSpanId).toBe(
      root.spanContext().spanId,
    );
    await provider.shutdown();
  });

  it('rejects spans of a trace no item has, as an OTLP partial success', async () => {
    const body = otlpJson('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', [
      { id: 'c3c3c3c3c3c3c3c3', name: 'stray', start: start, end: start + 1000 },
    ]);
    const json = await t.request<{ partialSuccess: { rejectedSpans: number; errorMessage: string } }>(
      'POST',
      '/v1/traces',
      { body },
    );
    expect(json.status).toBe(200);
    expect(json.body.partialSuccess.rejectedSpans).toBe(1);
    expect(json.body.partialSuccess.errorMessage).toContain('0af7651916cd43dd8448eb211c80319c');
  });

  it('answers 400 for every malformed payload and keeps serving', async () => {
    const good = otlpJson(claimed.traceparent, [
      { id: 'd4d4d4d4d4d4d4d4', name: 'x', start, end: start + 1 },
    ]);
    const span = good.resourceSpans[0]?.scopeSpans[0]?.spans[0] as Record<string, unknown>;
    const variants: [string, Uint8Array | string, string, Record<string, string>?][] = [
      ['truncated JSON', '{"resourceSpans": [', 'application/json'],
      ['not an object', '42', 'application/json'],
      ['resourceSpans not a list', '{"resourceSpans": {}}', 'application/json'],
      [
        'trace id not hex',
        JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, traceId: 'xyz' }] }] }] }),
        'application/json',
      ],
      [
        'time not a number',
        JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, startTimeUnixNano: 'soon' }] }] }],
        }),
        'application/json',
      ],
      [
        'ends before it starts',
        JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                { spans: [{ ...span, startTimeUnixNano: nanos(start + 5), endTimeUnixNano: nanos(start) }] },
              ],
            },
          ],
        }),
        'application/json',
      ],
      [
        'attribute of a wrong type',
        JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, attributes: [{ key: 7 }] }] }] }],
        }),
        'application/json',
      ],
      ['random bytes as protobuf', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), 'application/x-protobuf'],
      ['a length past the end', new Uint8Array([0x0a, 0x50, 0x0a, 0x02]), 'application/x-protobuf'],
      ['a protobuf span with a 3-byte trace id', protobufWithShortTraceId(), 'application/x-protobuf'],
      [
        'gzip that is not gzip',
        new Uint8Array([1, 2, 3]),
        'application/json',
        { 'content-encoding': 'gzip' },
      ],
    ];
    for (const [name, body, type, headers] of variants) {
      const res = await post(t, body, type, headers);
      expect(res.status, name).toBe(400);
      expect(res.type, name).toContain('application/problem+json');
    }
    expect((await post(t, '{}', 'text/plain')).status).toBe(415);
    expect((await post(t, '{}', 'application/json', { 'content-encoding': 'br' })).status).toBe(415);
    expect((await t.request('GET', '/v1/value-streams')).status).toBe(200);
  });

  it('accepts gzip and refuses a body that inflates past the body limit', async () => {
    const body = JSON.stringify(
      otlpJson(claimed.traceparent, [{ id: 'e5e5e5e5e5e5e5e5', name: 'zipped', start, end: start + 1 }]),
    );
    const ok = await post(t, gzipSync(body), 'application/json', { 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
    // 8 MiB of spaces compress to a few kilobytes: well under the 1 MiB limit on the wire.
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, ' '));
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    const res = await post(t, bomb, 'application/json', { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it('takes an agent key’s spans only for items its node worked on', async () => {
    const own = await t.createKey('agent', 'refund-agent');
    const other = await t.createKey('agent', 'triage-agent');
    const body = otlpJson(claimed.traceparent, [
      { id: 'f6f6f6f6f6f6f6f6', name: 'mine', start, end: start + 1 },
    ]);
    const accepted = await t.request('POST', '/v1/traces', { body, key: own.key });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({});
    const refused = await t.request<{ partialSuccess: { rejectedSpans: number; errorMessage: string } }>(
      'POST',
      '/v1/traces',
      { body, key: other.key },
    );
    expect(refused.status).toBe(200);
    expect(refused.body.partialSuccess.rejectedSpans).toBe(1);
    expect(refused.body.partialSuccess.errorMessage).toContain('node triage-agent holds no step');
  });

  it('asks for an agent, operator or admin key', async () => {
    const submitter = await t.createKey('submitter');
    const res = await t.request('POST', '/v1/traces', { body: { resourceSpans: [] }, key: submitter.key });
    expect(res.status).toBe(403);
    expect((await t.request('POST', '/v1/traces', { body: { resourceSpans: [] }, key: null })).status).toBe(
      401,
    );
  });
});

/** A structurally valid protobuf request whose span has a 3-byte trace id. */
function protobufWithShortTraceId(): Uint8Array {
  // resource_spans(1) { scope_spans(2) { spans(2) { trace_id(1): 3 bytes, span_id(2): 8 bytes, name(5): "x" } } }
  const span = [0x0a, 0x03, 1, 2, 3, 0x12, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x2a, 0x01, 0x78];
  const scopeSpans = [0x12, span.length, ...span];
  const resourceSpans = [0x12, scopeSpans.length, ...scopeSpans];
  return new Uint8Array([0x0a, resourceSpans.length, ...resourceSpans]);
}
