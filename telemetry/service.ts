// The telemetry core functions every edge calls: value streams, an item's trace, flow metrics, and
// accepting agent spans. Reads flush the local span-store queue first, so they see this process's hops.
import type { Store } from '../store/database.js';
import { aggregateFlow, type FlowGroupBy, nodeBusyTime } from '../store/flow-metrics-queries.js';
import { firstSpanAt, listItemSpans, listSpanKinds, readLiveFlowState } from '../store/spans.js';
import { aggregateValueStream } from '../store/value-stream-queries.js';
import type { Clock } from '../work/clock.js';
import { FlowmeshError } from '../work/errors.js';
import { itemPathsFromSpans } from './item-paths.js';
import type { SpanRow } from './span-row.js';
import { withColumnAttributes } from './span-row.js';
import type { SpanStoreWriter } from './span-store.js';
import {
  buildValueStream,
  factsFromPaths,
  type ValueStream,
  type ValueStreamWindow,
} from './value-stream.js';

export interface TelemetryCore {
  store: Store;
  clock: Clock;
  spanStore: SpanStoreWriter;
  /** Stores the hops recorded so far, so a read sees this process's own hops. */
  flush(): Promise<void>;
  /** Node capacities, for utilization. */
  nodes: readonly { id: string; kind: string; capacity: number }[];
}

export interface Window {
  from?: Date | undefined;
  to?: Date | undefined;
}

function checkWindow(from: Date, to: Date): void {
  if (to.getTime() <= from.getTime()) {
    throw new FlowmeshError(
      'invalid',
      `the window is empty: to (${to.toISOString()}) must be after from (${from.toISOString()})`,
      {
        errors: [{ path: 'to', message: 'must be after from' }],
      },
    );
  }
}

export async function listValueStreams(core: TelemetryCore) {
  await core.flush();
  const [kinds, live] = await Promise.all([listSpanKinds(core.store), readLiveFlowState(core.store)]);
  return kinds.map((k) => ({
    kind: k.kind,
    items: k.items,
    wip: live.wipByKind.find((w) => w.kind === k.kind)?.wip ?? 0,
    firstAt: k.firstAt.toISOString(),
    lastAt: k.lastAt.toISOString(),
  }));
}

async function resolveWindow(core: TelemetryCore, kind: string, window: Window): Promise<ValueStreamWindow> {
  const to = window.to ?? new Date(core.clock.now().getTime() + 1);
  const first = window.from ?? (await firstSpanAt(core.store, kind));
  if (!first)
    throw new FlowmeshError(
      'not_found',
      `no spans of kind ${kind} yet; GET /v1/value-streams lists the kinds seen`,
    );
  checkWindow(first, to);
  return { from: first, to };
}

/** The realized value stream of `kind`, aggregated in SQL (scales to 100,000s of items). */
export async function getValueStream(
  core: TelemetryCore,
  kind: string,
  window: Window = {},
): Promise<ValueStream> {
  await core.flush();
  const w = await resolveWindow(core, kind, window);
  const [facts, live] = await Promise.all([
    aggregateValueStream(core.store, kind, w.from, w.to),
    readLiveFlowState(core.store),
  ]);
  return buildValueStream({ kind, ...facts }, w, live.wipByKind.find((k) => k.kind === kind)?.wip ?? 0);
}

/** The same map computed in memory from span rows (the reference the SQL path is checked against). */
export function valueStreamFromSpans(
  rows: readonly SpanRow[],
  kind: string,
  window: ValueStreamWindow,
  wip: number,
) {
  const paths = itemPathsFromSpans(rows.filter((r) => r.kind === kind)).filter(
    (p) => p.startAt >= window.from.getTime() && p.startAt < window.to.getTime(),
  );
  return buildValueStream(factsFromPaths(kind, paths), window, wip);
}

export interface TraceHop {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  source: string;
  hop: string | null;
  stepId: string | null;
  capability: string | null;
  nodeId: string | null;
  nodeKind: string | null;
  attempt: number | null;
  outcome: string | null;
  startAt: string;
  endAt: string;
  durationMs: number;
  attributes: Record<string, unknown>;
}

/** The item's spans in time order: hops with nodes, outcomes and decisions, and accepted agent spans. */
export async function getItemTrace(core: TelemetryCore, workItemId: string): Promise<TraceHop[]> {
  await core.flush();
  return (await listItemSpans(core.store.db, workItemId)).map((s) => ({
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    source: s.source,
    hop: s.hop,
    stepId: s.stepId,
    capability: s.capability,
    nodeId: s.nodeId,
    nodeKind: s.nodeKind,
    attempt: s.attempt,
    outcome: s.outcome,
    startAt: s.startAt.toISOString(),
    endAt: s.endAt.toISOString(),
    durationMs: s.endAt.getTime() - s.startAt.getTime(),
    attributes: withColumnAttributes(s),
  }));
}

export interface FlowMetricsRow {
  key: string;
  /** Items done (kind), steps finished (capability) or work hops (node) per day. */
  velocityPerDay: number;
  finished: number;
  flowTime: { p50: number; p85: number; p95: number };
  /** WIP now: open items (kind), queued and claimed steps (capability), claimed steps (node). */
  load: number;
  flowEfficiency: number | null;
  /** Share of everything finished in the window. */
  distribution: number;
  utilization?: number;
}

export interface FlowMetrics {
  groupBy: FlowGroupBy;
  from: string;
  to: string;
  groups: FlowMetricsRow[];
  utilization: { nodeId: string; capacity: number; busyMs: number; utilization: number }[];
}

const DAY_MS = 86_400_000;

export async function getFlowMetrics(
  core: TelemetryCore,
  groupBy: FlowGroupBy,
  window: Window = {},
): Promise<FlowMetrics> {
  await core.flush();
  const to = window.to ?? core.clock.now();
  const from = window.from ?? new Date(to.getTime() - 7 * DAY_MS);
  checkWindow(from, to);
  const [rows, live, busy] = await Promise.all([
    aggregateFlow(core.store, groupBy, from, to),
    readLiveFlowState(core.store),
    nodeBusyTime(core.store, from, to),
  ]);
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  const total = rows.reduce((t, r) => t + r.finished, 0);
  const spanMs = to.getTime() - from.getTime();
  const utilization = core.nodes.map((n) => {
    const busyMs = busy.get(n.id) ?? 0;
    return { nodeId: n.id, capacity: n.capacity, busyMs, utilization: busyMs / (n.capacity * spanMs) };
  });
  const load = (key: string): number => {
    if (groupBy === 'kind') return live.wipByKind.find((k) => k.kind === key)?.wip ?? 0;
    if (groupBy === 'node') return live.wipByNode.find((n) => n.nodeId === key)?.wip ?? 0;
    // capability: the steps queued for it now.
    return live.queues.find((q) => q.capability === key)?.depth ?? 0;
  };
  return {
    groupBy,
    from: from.toISOString(),
    to: to.toISOString(),
    groups: rows.map((r) => ({
      key: r.key,
      velocityPerDay: r.finished / days,
      finished: r.finished,
      flowTime: { p50: r.p50, p85: r.p85, p95: r.p95 },
      load: load(r.key),
      flowEfficiency: groupBy === 'node' || r.flowMs === 0 ? null : r.workMs / r.flowMs,
      distribution: total ? r.finished / total : 0,
      ...(groupBy === 'node'
        ? { utilization: utilization.find((u) => u.nodeId === r.key)?.utilization ?? 0 }
        : {}),
    })),
    utilization,
  };
}
