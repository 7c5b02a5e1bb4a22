// OpenTelemetry metrics of the flow: queue depth per capability, WIP per node and kind, the oldest
// wait, and a lead-time histogram; exported over OTLP when configured and as Prometheus text.
import type { Histogram } from '@opentelemetry/api';
import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { Store } from '../store/database.js';
import { readLiveFlowState } from '../store/spans.js';
import type { Clock } from '../work/clock.js';
import type { Logger } from '../work/logger.js';
import type { TelemetryConfig } from './config.js';

/** A reader collected on demand (GET /metrics) instead of on a timer. */
class PullMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface FlowInstruments {
  leadTime: Histogram;
  /** The current metrics in the Prometheus text exposition format. */
  prometheus(): Promise<string>;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const LEAD_TIME_BUCKETS_S = [60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86_400, 2 * 86_400, 7 * 86_400];

export function createFlowInstruments(deps: {
  config: TelemetryConfig;
  resource: Resource;
  store: Store;
  clock: Clock;
  logger: Logger;
}): FlowInstruments {
  const { config, store, clock, logger } = deps;
  const pull = new PullMetricReader();
  const readers: MetricReader[] = [pull];
  if (config.metricsEndpoint && !config.disabled) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter:
          config.metricsProtocol === 'http/json'
            ? new OTLPJsonMetricExporter({ url: config.metricsEndpoint, headers: config.headers })
            : new OTLPProtoMetricExporter({ url: config.metricsEndpoint, headers: config.headers }),
        exportIntervalMillis: config.metricExportIntervalMs,
      }),
    );
  }
  const provider = new MeterProvider({ resource: deps.resource, readers });
  const meter = provider.getMeter('flowmesh');
  const queueDepth = meter.createObservableGauge('flowmesh.queue.depth', {
    description: 'Steps queued per capability',
    unit: '{step}',
  });
  const oldestWait = meter.createObservableGauge('flowmesh.queue.oldest_wait', {
    description: 'How long the oldest queued step of a capability has waited',
    unit: 's',
  });
  const nodeWip = meter.createObservableGauge('flowmesh.node.wip', {
    description: 'Steps claimed (in progress) per node',
    unit: '{step}',
  });
  const kindWip = meter.createObservableGauge('flowmesh.work_items.wip', {
    description: 'Open work items per kind',
    unit: '{item}',
  });
  meter.addBatchObservableCallback(
    async (observer) => {
      try {
        const state = await readLiveFlowState(store);
        const now = clock.now().getTime();
        for (const q of state.queues) {
          observer.observe(queueDepth, q.depth, { 'flowmesh.capability': q.capability });
          if (q.oldestQueuedAt)
            observer.observe(oldestWait, Math.max(0, (now - q.oldestQueuedAt.getTime()) / 1000), {
              'flowmesh.capability': q.capability,
            });
        }
        for (const n of state.wipByNode) observer.observe(nodeWip, n.wip, { 'flowmesh.node.id': n.nodeId });
        for (const k of state.wipByKind)
          observer.observe(kindWip, k.wip, { 'flowmesh.work_item.kind': k.kind });
      } catch (error) {
        logger.warn('flow metrics not observed', { error: String(error) });
      }
    },
    [queueDepth, oldestWait, nodeWip, kindWip],
  );
  const leadTime = meter.createHistogram('flowmesh.lead_time', {
    description: 'Lead time of finished work items, submission to end',
    unit: 's',
    advice: { explicitBucketBoundaries: LEAD_TIME_BUCKETS_S },
  });
  const serializer = new PrometheusSerializer();
  return {
    leadTime,
    async prometheus() {
      const { resourceMetrics, errors } = await pull.collect();
      if (errors.length > 0) logger.warn('metric collection had errors', { errors: errors.map(String) });
      return serializer.serialize(resourceMetrics);
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
