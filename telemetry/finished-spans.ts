// Spans recorded after the fact: hops, item root spans and HTTP server spans are records of something
// that already happened, with known start and end, that nothing in the process nests under. They are
// not started through the SDK's Tracer (building a live span, sanitizing it and ending it was most of
// what tracing cost per request); each is handed, finished, to the exporting span processors (the OTLP
// BatchSpanProcessor, extra processors) when the configured sampler keeps its trace, exactly as the
// SDK hands a sampled span it ended.
import {
  type Attributes,
  ROOT_CONTEXT,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
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

/**
 * A finished span as the span processors read it. A class rather than an object literal: its
 * spanContext() is one method for every span, not a new closure per span.
 */
class FinishedReadableSpan implements ReadableSpan {
  readonly links = [];
  readonly events = [];
  readonly ended = true;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  readonly name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly startTime: [number, number];
  readonly endTime: [number, number];
  readonly duration: [number, number];
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly #context: SpanContext;

  constructor(
    span: FinishedSpan,
    parent: SpanContext | undefined,
    attributes: Attributes,
    resource: Resource,
    scope: InstrumentationScope,
  ) {
    const end = Math.max(span.endMs, span.startMs);
    this.name = span.name;
    this.kind = span.kind;
    this.#context = { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED };
    this.parentSpanContext = parent;
    this.startTime = hrTime(span.startMs);
    this.endTime = hrTime(end);
    this.duration = hrTime(end - span.startMs);
    this.status = span.status;
    this.attributes = attributes;
    this.resource = resource;
    this.instrumentationScope = scope;
  }

  spanContext(): SpanContext {
    return this.#context;
  }
}

export function createSpanEmitter(deps: SpanEmitterDeps): SpanEmitter {
  const { exporters, sampler, resource, scope } = deps;
  const ids = new RandomIdGenerator();
  return {
    exporting: exporters.length > 0,
    newTraceId: () => ids.generateTraceId(),
    newSpanId: () => ids.generateSpanId(),
    emit(span) {
      if (exporters.length === 0) return;
      const parent: SpanContext | undefined = span.parent
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
      const attributes = decision.attributes
        ? { ...span.attributes, ...decision.attributes }
        : span.attributes;
      const readable = new FinishedReadableSpan(span, parent, attributes, resource, scope);
      for (const processor of exporters) processor.onEnd(readable);
    },
  };
}
