// Hop spans: each hop is written after the fact with its explicit start and end, as a child of the
// item's root context (its stored traceparent), so no span stays open across a human wait. Every hop
// and item span becomes a span-store row (sampled or not: the value stream needs every hop) and, when
// the sampler keeps its trace, a finished span for the exporters (telemetry/finished-spans.ts).
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { parseTraceparent } from '../work/ids.js';
import type { Logger } from '../work/logger.js';
import { stepSpanId } from '../work/trace-context.js';
import { ATTR, type Hop, hopSpanName, ITEM_SPAN_NAME, WORK_HOPS } from './attributes.js';
import type { FinishedSpan, SpanEmitter } from './finished-spans.js';
import { type SpanRow, storedAttributes } from './span-row.js';

/** One hop, as the router reports it (structurally the router's HopRecord). */
export interface HopInput {
  hop: Hop;
  workItemId: string;
  workItemKind: string;
  traceparent: string;
  stepId: string;
  seq: number;
  capability: string;
  nodeId: string | null;
  nodeKind: string | null;
  attempt: number;
  startedAt: Date;
  endedAt: Date;
  outcome: string;
  policyIds?: string[] | undefined;
  attributes?: Record<string, string | number | boolean> | undefined;
  /** Set when the hop's change ended the item: its root span needs no read of the item. */
  itemEnd?: Pick<ItemEnd, 'state' | 'createdAt' | 'endedAt'> | undefined;
}

/** The end of a work item: its root span, from submission to the end state. */
export interface ItemEnd {
  workItemId: string;
  workItemKind: string;
  traceparent: string;
  /** done | failed | cancelled | rejected */
  state: string;
  createdAt: Date;
  endedAt: Date;
}

export interface HopTracer {
  record(hop: HopInput): void;
  recordItemEnd(end: ItemEnd): void;
}

const FAILED_OUTCOMES = new Set(['failed', 'unroutable', 'expired', 'rejected']);

export function parentContext(traceparent: string): Context {
  const parent = parseTraceparent(traceparent);
  if (!parent) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

export interface HopTracerDeps {
  /** Receives every hop and item span as a span-store row. */
  store(row: SpanRow): void;
  /** Hands finished spans to the exporters, as the sampler decides. */
  spans: SpanEmitter;
  logger: Logger;
}

type SpanFacts = FinishedSpan;
type RowFacts = Omit<SpanRow, 'traceId' | 'spanId' | 'parentSpanId' | 'name' | 'startAt' | 'endAt'>;

export function createHopTracer(deps: HopTracerDeps): HopTracer {
  const { store, spans, logger } = deps;

  const emit = (facts: SpanFacts, row: RowFacts) => {
    store({
      traceId: facts.traceId,
      spanId: facts.spanId,
      parentSpanId: facts.parent?.spanId ?? null,
      name: facts.name,
      startAt: new Date(facts.startMs),
      endAt: new Date(Math.max(facts.endMs, facts.startMs)),
      ...row,
    });
    if (spans.exporting) spans.emit(facts);
  };

  return {
    record(hop) {
      try {
        const attributes: Attributes = {
          ...hop.attributes,
          [ATTR.workItemId]: hop.workItemId,
          [ATTR.workItemKind]: hop.workItemKind,
          [ATTR.step]: hop.stepId,
          [ATTR.stepSeq]: hop.seq,
          [ATTR.capability]: hop.capability,
          [ATTR.hop]: hop.hop,
          [ATTR.attempt]: hop.attempt,
          [ATTR.outcome]: hop.outcome,
        };
        if (hop.nodeId) attributes[ATTR.nodeId] = hop.nodeId;
        if (hop.nodeKind) attributes[ATTR.nodeKind] = hop.nodeKind;
        // What the row keeps beside its columns: the hop's own attributes, the step's place, the rules.
        const stored: Record<string, unknown> = hop.attributes ? storedAttributes(hop.attributes) : {};
        stored[ATTR.stepSeq] = hop.seq;
        if (hop.policyIds && hop.policyIds.length > 0) {
          attributes[ATTR.policyIds] = hop.policyIds;
          stored[ATTR.policyIds] = hop.policyIds;
        }
        const parent = parseTraceparent(hop.traceparent);
        const facts: SpanFacts = {
          name: hopSpanName(hop.hop),
          kind: SpanKind.INTERNAL,
          traceId: parent?.traceId ?? spans.newTraceId(),
          // The work span's id is the one handed out with the claim, so agent spans nest under it.
          spanId: WORK_HOPS.has(hop.hop) ? stepSpanId(hop.stepId, hop.attempt) : spans.newSpanId(),
          parent: parent ? { spanId: parent.spanId, sampled: parent.sampled } : undefined,
          startMs: hop.startedAt.getTime(),
          endMs: hop.endedAt.getTime(),
          attributes,
          status: FAILED_OUTCOMES.has(hop.outcome)
            ? { code: SpanStatusCode.ERROR, message: hop.outcome }
            : { code: SpanStatusCode.UNSET },
        };
        emit(facts, {
          source: 'hop',
          hop: hop.hop,
          workItemId: hop.workItemId,
          kind: hop.workItemKind,
          stepId: hop.stepId,
          capability: hop.capability,
          nodeId: hop.nodeId,
          nodeKind: hop.nodeKind,
          attempt: hop.attempt,
          outcome: hop.outcome,
          attributes: stored,
        });
      } catch (error) {
        logger.warn('hop span not recorded', {
          hop: hop.hop,
          workItemId: hop.workItemId,
          error: String(error),
        });
      }
    },
    recordItemEnd(end) {
      try {
        // The root span reuses the span id of the item's stored traceparent, so the hops sit under it.
        const root = parseTraceparent(end.traceparent);
        const attributes: Attributes = {
          [ATTR.workItemId]: end.workItemId,
          [ATTR.workItemKind]: end.workItemKind,
          [ATTR.workItemState]: end.state,
          [ATTR.outcome]: end.state,
        };
        const facts: SpanFacts = {
          name: ITEM_SPAN_NAME,
          kind: SpanKind.INTERNAL,
          traceId: root?.traceId ?? spans.newTraceId(),
          spanId: root?.spanId ?? spans.newSpanId(),
          startMs: end.createdAt.getTime(),
          endMs: end.endedAt.getTime(),
          attributes,
          status:
            end.state === 'done'
              ? { code: SpanStatusCode.UNSET }
              : { code: SpanStatusCode.ERROR, message: end.state },
        };
        emit(facts, {
          source: 'item',
          hop: null,
          workItemId: end.workItemId,
          kind: end.workItemKind,
          stepId: null,
          capability: null,
          nodeId: null,
          nodeKind: null,
          attempt: null,
          outcome: end.state,
          attributes: storedAttributes(attributes),
        });
      } catch (error) {
        logger.warn('item span not recorded', { workItemId: end.workItemId, error: String(error) });
      }
    },
  };
}
