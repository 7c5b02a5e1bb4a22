// Agent spans posted to /v1/traces: joined to the item whose trace they carry and to the step whose
// work span (or earlier agent span) they hang under, so they count as work time of that step; stored,
// and forwarded to the collector.
import type { Store } from '../store/database.js';
import { findWorkItemByTrace, listItemSteps, listTraceSpans } from '../store/spans.js';
import { parseTraceparent } from '../work/ids.js';
import { stepSpanId } from '../work/trace-context.js';
import { ATTR } from './attributes.js';
import type { DecodedSpan } from './otlp-decode.js';
import type { SpanRow } from './span-row.js';
import type { SpanStoreWriter } from './span-store.js';

export interface IngestResult {
  accepted: number;
  rejected: number;
  /** Why spans were rejected (OTLP partial success), empty when none were. */
  errorMessage: string;
}

interface StepRef {
  id: string;
  capability: string;
  attempt: number;
  nodeId: string | null;
  state: string;
}

export async function ingestAgentSpans(
  deps: {
    store: Store;
    spanStore: SpanStoreWriter;
    /** Sends the accepted spans of one item's trace on to the collector. */
    forward?: (spans: readonly DecodedSpan[], itemTraceparent: string) => void;
  },
  spans: readonly DecodedSpan[],
  /** An agent key's node: its spans are accepted only for items with a step that node holds or held. */
  options: { nodeId?: string | null | undefined } = {},
): Promise<IngestResult> {
  const byTrace = new Map<string, DecodedSpan[]>();
  for (const s of spans) {
    let list = byTrace.get(s.traceId);
    if (!list) {
      list = [];
      byTrace.set(s.traceId, list);
    }
    list.push(s);
  }
  const rows: SpanRow[] = [];
  const unknownTraces: string[] = [];
  const foreign: string[] = [];
  const forward: { spans: DecodedSpan[]; traceparent: string }[] = [];
  let rejected = 0;
  // Parents posted in an earlier request may still be queued.
  await deps.spanStore.flush();
  for (const [traceId, list] of byTrace) {
    const item = await findWorkItemByTrace(deps.store, traceId);
    if (!item) {
      rejected += list.length;
      unknownTraces.push(traceId);
      continue;
    }
    const steps: StepRef[] = await listItemSteps(deps.store.db, item.id);
    if (options.nodeId && !steps.some((st) => st.nodeId === options.nodeId)) {
      rejected += list.length;
      foreign.push(traceId);
      continue;
    }
    const stepById = new Map(steps.map((s) => [s.id, s]));
    const owner = new Map<string, StepRef>();
    for (const s of steps) for (let a = 1; a <= s.attempt; a++) owner.set(stepSpanId(s.id, a), s);
    // A claimer given the item's own traceparent (not the step's) works on the one step it holds.
    const claimed = steps.filter((s) => s.state === 'claimed');
    const rootSpanId = parseTraceparent(item.traceparent)?.spanId;
    if (rootSpanId && claimed.length === 1 && claimed[0]) owner.set(rootSpanId, claimed[0]);
    for (const stored of await listTraceSpans(deps.store.db, traceId)) {
      const step = stored.stepId ? stepById.get(stored.stepId) : undefined;
      if (step) owner.set(stored.spanId, step);
    }
    // Resolve owners through parent chains inside this request, whatever order the spans came in.
    const pending = [...list];
    let progress = true;
    while (progress) {
      progress = false;
      for (let i = pending.length - 1; i >= 0; i--) {
        const s = pending[i] as DecodedSpan;
        const explicit = s.attributes[ATTR.step];
        const step =
          (typeof explicit === 'string' ? stepById.get(explicit) : undefined) ??
          (s.parentSpanId ? owner.get(s.parentSpanId) : undefined);
        if (step) {
          owner.set(s.spanId, step);
          pending.splice(i, 1);
          progress = true;
        }
      }
    }
    forward.push({ spans: list, traceparent: item.traceparent });
    for (const s of list) {
      const step = owner.get(s.spanId);
      const nodeAttr = s.attributes[ATTR.nodeId];
      rows.push({
        traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId,
        name: s.name,
        source: 'agent',
        hop: null,
        workItemId: item.id,
        kind: item.kind,
        stepId: step?.id ?? null,
        capability: step?.capability ?? null,
        nodeId: typeof nodeAttr === 'string' ? nodeAttr : (step?.nodeId ?? null),
        nodeKind: null,
        attempt: step ? step.attempt : null,
        outcome: s.statusCode === 2 ? 'error' : null,
        startAt: s.startAt,
        endAt: s.endAt,
        attributes: s.attributes,
      });
    }
  }
  deps.spanStore.enqueue(rows);
  for (const { spans: accepted, traceparent } of forward) deps.forward?.(accepted, traceparent);
  const reasons: string[] = [];
  if (unknownTraces.length > 0)
    reasons.push(
      `no work item has trace ${unknownTraces.slice(0, 3).join(', ')}${unknownTraces.length > 3 ? ', …' : ''}; send spans in the trace of the item's traceparent`,
    );
  if (foreign.length > 0)
    reasons.push(
      `node ${options.nodeId} holds no step of the item in trace ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}`,
    );
  return {
    accepted: rows.length,
    rejected,
    errorMessage: rejected > 0 ? `${rejected} span(s) rejected: ${reasons.join('; ')}` : '',
  };
}
