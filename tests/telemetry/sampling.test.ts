// The sampler decides what is exported; the span store still gets every hop, so the map stays whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js';
import { MIN, playScript, T0 } from './scenario.js';

describe('with OTEL_TRACES_SAMPLER=always_off', () => {
  let receiver: OtlpReceiver;
  let t: TestRuntime;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await createTestRuntime({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_off' },
    });
    playScript(t.runtime.telemetry.hops);
    expect((await t.request('GET', '/v1/value-streams')).status).toBe(200);
    await t.runtime.telemetry.forceFlush();
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('exports no spans', () => {
    expect(receiver.spans).toEqual([]);
  });

  it('still rebuilds the whole value stream from the span store', async () => {
    const from = new Date(T0).toISOString();
    const to = new Date(T0 + 24 * 60 * MIN).toISOString();
    const res = await t.request<{ items: unknown; leadTime: { p50: number } }>(
      'GET',
      `/v1/value-streams/refund?from=${from}&to=${to}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual({ started: 5, done: 4, wip: 0 });
    expect(res.body.leadTime.p50).toBe(150 * MIN);
  });
});

describe('with a malformed OTEL_* variable', () => {
  it('refuses the configuration and names the variable', () => {
    expect(() => parseConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' })).toThrow(
      /OTEL_EXPORTER_OTLP_HEADERS entries must be key=value/,
    );
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL.*grpc is not supported/,
    );
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' })).toThrow(
      /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL.*must be http\/protobuf or http\/json/,
    );
  });

  it('takes each signal’s protocol from its own variable, else OTEL_EXPORTER_OTLP_PROTOCOL, else JSON', () => {
    expect(parseConfig({}).telemetry).toMatchObject({
      tracesProtocol: 'http/json',
      metricsProtocol: 'http/json',
    });
    expect(
      parseConfig({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      }).telemetry,
    ).toMatchObject({ tracesProtocol: 'http/protobuf', metricsProtocol: 'http/json' });
  });

  it('derives the per-signal URLs from OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const { telemetry } = parseConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-tenant=flow',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(telemetry).toMatchObject({
      tracesEndpoint: 'http://collector:4318/v1/traces',
      metricsEndpoint: 'http://collector:4318/v1/metrics',
      headers: { authorization: 'Bearer abc', 'x-tenant': 'flow' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      serviceName: 'flowmesh',
    });
  });
});
