// Agent spans accepted at /v1/traces, made into SDK spans for the OTLP exporter as the agent sent
// them: their own trace, span and parent ids, times to the nanosecond, kind, status, attributes,
// resource and scope. The collector then shows the agent's model and tool calls inside the item's
// trace, under the step's work span.
import { type Attributes, type AttributeValue as OtelValue, SpanKind, TraceFlags } from '@opentelemetry/api';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AttributeValue, DecodedSpan } from './otlp-decode.js';

const NANOS = 1_000_000_000n;
const hrTime = (nanos: bigint): [number, number] => [Number(nanos / NANOS), Number(nanos % NANOS)];

/** OTLP kinds count from 1 (internal); the API's from 0. Unspecified is internal. */
function kindOf(otlpKind: number): SpanKind {
  return otlpKind >= 1 && otlpKind <= 5 ? ((otlpKind - 1) as SpanKind) : SpanKind.INTERNAL;
}

/** Primitives and arrays of one primitive type pass as they are; anything else travels as JSON. */
function attributeValue(v: AttributeValue): OtelValue | undefined {
  if (v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    const types = new Set(v.map((x) => typeof x));
    const [type] = types;
    if (v.length === 0) return [] as string[];
    if (types.size === 1 && (type === 'string' || type === 'number' || type === 'boolean'))
      return v as string[] | number[] | boolean[];
  }
  return JSON.stringify(v);
}

function attributes(record: Record<string, AttributeValue>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(record)) {
    const v = attributeValue(value);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** SDK spans of the decoded ones; spans with the same resource share one Resource, as exporters group by it. */
export function readableAgentSpans(spans: readonly DecodedSpan[]): ReadableSpan[] {
  const resources = new Map<string, Resource>();
  const resourceOf = (attrs: Record<string, AttributeValue>): Resource => {
    const key = JSON.stringify(attrs);
    let r = resources.get(key);
    if (!r) {
      r = resourceFromAttributes(attributes(attrs));
      resources.set(key, r);
    }
    return r;
  };
  return spans.map((s) => {
    const context = { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED };
    const start = hrTime(s.otlp.startNanos);
    const end = hrTime(s.otlp.endNanos);
    return {
      name: s.name,
      kind: kindOf(s.otlp.kind),
      spanContext: () => context,
      ...(s.parentSpanId
        ? {
            parentSpanContext: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED },
          }
        : {}),
      startTime: start,
      endTime: end,
      duration: hrTime(s.otlp.endNanos - s.otlp.startNanos),
      status: {
        code: s.statusCode === 1 || s.statusCode === 2 ? s.statusCode : 0,
        ...(s.otlp.statusMessage ? { message: s.otlp.statusMessage } : {}),
      },
      attributes: attributes(s.otlp.spanAttributes),
      links: [],
      events: [],
      ended: true,
      resource: resourceOf(s.otlp.resource),
      instrumentationScope: {
        name: s.otlp.scope.name,
        ...(s.otlp.scope.version ? { version: s.otlp.scope.version } : {}),
      },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}
