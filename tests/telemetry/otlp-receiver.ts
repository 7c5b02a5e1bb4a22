// An OTLP/HTTP receiver for tests: a node:http server on 127.0.0.1 that keeps every span posted to
// /v1/traces (JSON or protobuf, as the OTLP/HTTP exporters send them) and every metrics request.
// Protobuf bodies are read with flowmesh's own OTLP decoder, which its tests check field by field.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOtlpProtobufCodec, spansFromOtlpProtobuf } from '../../telemetry/otlp-decode.js';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  /** The start as sent, in nanoseconds. */
  startNanos: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: { name: string; version?: string };
}

type KeyValue = { key: string; value: Record<string, unknown> };

function value(v: Record<string, unknown>): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v)
    return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(value);
  return undefined;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  requests: { path: string; contentType: string | undefined }[];
  /** Bodies posted to /v1/metrics, as sent. */
  metrics: { contentType: string | undefined; body: Buffer }[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const metrics: OtlpReceiver['metrics'] = [];
  const codec = createOtlpProtobufCodec();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] });
      if (req.url === '/v1/metrics')
        metrics.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
      if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') {
        for (const s of spansFromOtlpProtobuf(codec, Buffer.concat(chunks)))
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.otlp.kind,
            startMs: Number(s.otlp.startNanos / 1_000_000n),
            endMs: Number(s.otlp.endNanos / 1_000_000n),
            startNanos: String(s.otlp.startNanos),
            attributes: s.otlp.spanAttributes,
            resource: s.otlp.resource,
            scope: {
              name: s.otlp.scope.name,
              ...(s.otlp.scope.version ? { version: s.otlp.scope.version } : {}),
            },
          });
      } else if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: {
            resource: { attributes: KeyValue[] };
            scopeSpans: {
              scope?: { name?: string; version?: string };
              spans: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                kind: number;
                startTimeUnixNano: string | number;
                endTimeUnixNano: string | number;
                attributes: KeyValue[];
              }[];
            }[];
          }[];
        };
        for (const rs of body.resourceSpans) {
          const resource = attributes(rs.resource.attributes);
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                kind: s.kind,
                startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
                endMs: Number(BigInt(s.endTimeUnixNano) / 1_000_000n),
                startNanos: String(s.startTimeUnixNano),
                attributes: attributes(s.attributes),
                resource,
                scope: {
                  name: ss.scope?.name ?? '',
                  ...(ss.scope?.version ? { version: ss.scope.version } : {}),
                },
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    metrics,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
