// Builds the telemetry of one runtime from its TelemetryConfig: a TracerProvider of its own (never the
// global one, so tests can build many), OTLP/HTTP export when an endpoint is set (agent spans posted
// to /v1/traces are forwarded there too), the span store, hop spans and the flow metrics.
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SamplingDecision,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Store } from '../store/database.js';
import type { Clock } from '../work/clock.js';
import type { Logger } from '../work/logger.js';
import { readableAgentSpans } from './agent-export.js';
import type { TelemetryConfig } from './config.js';
import { createSpanEmitter, type SpanEmitter } from './finished-spans.js';
import { type ApprovalRule, createHopRecorder, type TelemetryHopRecorder } from './hop-recorder.js';
import { createHopTracer, type HopTracer, parentContext } from './hops.js';
import { createFlowInstruments, type FlowInstruments } from './metrics.js';
import type { DecodedSpan } from './otlp-decode.js';
import { samplerFor } from './sampling.js';
import { createSpanStoreWriter, type SpanStoreWriter } from './span-store.js';

export interface Telemetry {
  config: TelemetryConfig;
  resource: Resource;
  /** For HTTP server spans and anything else the edges trace. */
  tracer: Tracer;
  /**
   * Whether finished spans other than hops go anywhere (an OTLP exporter or extra processors). Without
   * that, the edges' spans (HTTP server spans, MCP tool calls) would be built and dropped, so they are
   * not built at all.
   */
  exportsSpans: boolean;
  /**
   * Spans recorded after the fact (HTTP server spans): handed to the exporters as the sampler decides.
   * Only built when `exportsSpans`.
   */
  spans: SpanEmitter;
  hops: HopTracer;
  /** The router's HopRecorder: hop spans plus the item's root span once it ends. */
  recorder: TelemetryHopRecorder;
  spanStore: SpanStoreWriter;
  /** Stores everything recorded so far (without waiting for trace export). */
  flushStore(): Promise<void>;
  metrics: FlowInstruments;
  /** Exports and stores everything recorded so far. */
  forceFlush(): Promise<void>;
  /**
   * Hands accepted agent spans of one item's trace to the OTLP exporter (when one is configured), as
   * they were sent. The configured sampler decides, with the item's traceparent as parent, as it does
   * for flowmesh's own spans in that trace.
   */
  forwardAgentSpans(spans: readonly DecodedSpan[], itemTraceparent: string): void;
  /** Deletes spans older than the retention setting; returns how many. */
  sweep(): Promise<number>;
  shutdown(): Promise<void>;
}

export interface TelemetryDeps {
  config: TelemetryConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
  version?: string;
  /** Extra span processors (tests, benchmarks). */
  spanProcessors?: SpanProcessor[];
  /** Which capabilities' work is an approval (see hop-recorder.ts); none when absent. */
  isApproval?: ApprovalRule;
}

export function createTelemetry(deps: TelemetryDeps): Telemetry {
  const { config, store, clock, logger } = deps;
  const resource = defaultResource().merge(
    resourceFromAttributes({
      ...config.resourceAttributes,
      'service.name': config.serviceName,
      'service.version': deps.version ?? '0.1.0',
    }),
  );
  const spanStore = createSpanStoreWriter({ store, logger });
  const processors: SpanProcessor[] = [...(deps.spanProcessors ?? [])];
  let exportProcessor: BatchSpanProcessor | undefined;
  if (config.tracesEndpoint && !config.disabled) {
    const options = { url: config.tracesEndpoint, headers: config.headers };
    const exporter =
      config.tracesProtocol === 'http/json'
        ? new OTLPJsonTraceExporter(options)
        : new OTLPProtoTraceExporter(options);
    exportProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000, maxQueueSize: 8192 });
    processors.push(exportProcessor);
  }
  const sampler = samplerFor(config.sampler, config.samplerRatio);
  const scope = { name: 'flowmesh', version: deps.version ?? '0.1.0' };
  const provider = new BasicTracerProvider({ resource, sampler, spanProcessors: processors });
  const tracer = provider.getTracer(scope.name, scope.version);
  const metrics = createFlowInstruments({ config, resource, store, clock, logger });
  const spans = createSpanEmitter({ exporters: processors, sampler, resource, scope });
  const hopTracer = createHopTracer({ store: (row) => spanStore.enqueue([row]), spans, logger });
  const hops: HopTracer = {
    record: (hop) => hopTracer.record(hop),
    recordItemEnd(end) {
      hopTracer.recordItemEnd(end);
      if (end.state === 'done') {
        const seconds = Math.max(0, end.endedAt.getTime() - end.createdAt.getTime()) / 1000;
        metrics.leadTime.record(seconds, { 'flowmesh.work_item.kind': end.workItemKind });
      }
    },
  };
  const recorder = createHopRecorder({ hops, store, logger, isApproval: deps.isApproval });
  return {
    config,
    resource,
    tracer,
    exportsSpans: spans.exporting,
    spans,
    hops,
    recorder,
    spanStore,
    async flushStore() {
      await recorder.settle();
      await spanStore.flush();
    },
    metrics,
    async forceFlush() {
      await recorder.settle();
      await provider.forceFlush();
      await spanStore.flush();
    },
    forwardAgentSpans(spans, itemTraceparent) {
      const first = spans[0];
      if (!exportProcessor || !first) return;
      const decision = sampler.shouldSample(
        parentContext(itemTraceparent),
        first.traceId,
        first.name,
        SpanKind.INTERNAL,
        {},
        [],
      );
      if (decision.decision !== SamplingDecision.RECORD_AND_SAMPLED) return;
      for (const span of readableAgentSpans(spans)) exportProcessor.onEnd(span);
    },
    sweep() {
      return spanStore.sweep(new Date(clock.now().getTime() - config.spanRetentionDays * 86_400_000));
    },
    async shutdown() {
      await recorder.settle();
      await provider.shutdown().catch((error: unknown) => {
        logger.warn('trace export did not shut down cleanly', { error: String(error) });
      });
      await metrics.shutdown().catch(() => {});
      await spanStore.close();
    },
  };
}
