// Spans recorded after the fact: hops, item root spans and HTTP server spans are records of something
// that already happened, with known start and end, that nothing in the process nests under. They are
// not started through the SDK's Tracer (building a live span, sanitizing it and ending it was most of
// what tracing cost per request); each is handed, finished, to the exporting span processors (the OTLP
// BatchSpanProcessor, extra processors) when the configured sampler keeps its trace, exactly as the
// SDK hands a sampled span it ended.
import {
  type Attributes,
  ROOT_CONTEXT,
  type SpanKind,
  type SpanStatus,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  RandomIdGenerator,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export interface FinishedSpan {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  /** The parent span (in the same trace) and its sampled flag; none for a root span. */
  parent?: { spanId: string; sampled: boolean } | undefined;
  /** Epoch milliseconds; fractions are kept to the nanosecond. */
  startMs: number;
  endMs: number;
  attributes: Attributes;
  status: SpanStatus;
}

export interface SpanEmitter {
  /** Whether anything receives finished spans; when not, there is no point building them. */
  readonly exporting: boolean;
  emit(span: FinishedSpan): void;
  newTraceId(): string;
  newSpanId(): string;
}

export interface SpanEmitterDeps {
  exporters: readonly SpanProcessor[];
  /** The configured sampler: it decides what is exported. */
  sampler: Sampler;
  resource: Resource;
  scope: { name: string; version?: string };
}

const hrTime = (ms: number): [number, number] => {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
};

export function createSpanEmitter(deps: SpanEmitterDeps): SpanEmitter {
  const { exporters, sampler, resource, scope } = deps;
  const ids = new RandomIdGenerator();
  return {
    exporting: exporters.length > 0,
    newTraceId: () => ids.generateTraceId(),
    newSpanId: () => ids.generateSpanId(),
    emit(span) {
      if (exporters.length === 0) return;
      const parent = span.parent
        ? {
            traceId: span.traceId,
            spanId: span.parent.spanId,
            traceFlags: span.parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
            isRemote: true,
          }
        : undefined;
      const decision = sampler.shouldSample(
        parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
        span.traceId,
        span.name,
        span.kind,
        span.attributes,
        [],
      );
      if (decision.decision !== SamplingDecision.RECORD_AND_SAMPLED) return;
      const end = Math.max(span.endMs, span.startMs);
      const context = { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED };
      const readable: ReadableSpan = {
        name: span.name,
        kind: span.kind,
        spanContext: () => context,
        ...(parent ? { parentSpanContext: parent } : {}),
        startTime: hrTime(span.startMs),
        endTime: hrTime(end),
        duration: hrTime(end - span.startMs),
        status: span.status,
        attributes: decision.attributes ? { ...span.attributes, ...decision.attributes } : span.attributes,
        links: [],
        events: [],
        ended: true,
        resource,
        instrumentationScope: scope,
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      };
      for (const processor of exporters) processor.onEnd(readable);
    },
  };
}
