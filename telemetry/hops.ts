// Hop spans: each hop is written after the fact with its explicit start and end, as a child of the
// item's root context (its stored traceparent), so no span stays open across a human wait. Every hop
// and item span becomes a span-store row (sampled or not: the value stream needs every hop) and, when
// the sampler keeps its trace, a finished span for the exporters (telemetry/finished-spans.ts).
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  type SpanStatus,
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
const UNSET_STATUS: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
const NO_ATTRIBUTES: Attributes = Object.freeze({});

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

  /** The span-store row of a span: its facts plus the columns the store reads. */
  const storeRow = (facts: SpanFacts, row: RowFacts) => {
    store({
      traceId: facts.traceId,
      spanId: facts.spanId,
      parentSpanId: facts.parent?.spanId ?? null,
      name: facts.name,
      startAt: new Date(facts.startMs),
      endAt: new Date(Math.max(facts.endMs, facts.startMs)),
      source: row.source,
      hop: row.hop,
      workItemId: row.workItemId,
      kind: row.kind,
      stepId: row.stepId,
      capability: row.capability,
      nodeId: row.nodeId,
      nodeKind: row.nodeKind,
      attempt: row.attempt,
      outcome: row.outcome,
      attributes: row.attributes,
    });
  };

  /**
   * The exported span's attributes: the hop's own and flowmesh's. Built only when something exports
   * spans; the span store keeps these in columns.
   */
  const hopAttributes = (hop: HopInput): Attributes => {
    // A literal with the names written out (the values of ATTR): V8 builds it from one template, where
    // ten computed keys cost a shape change each.
    const attributes: Attributes = {
      'flowmesh.work_item.id': hop.workItemId,
      'flowmesh.work_item.kind': hop.workItemKind,
      'flowmesh.step': hop.stepId,
      'flowmesh.step.seq': hop.seq,
      'flowmesh.capability': hop.capability,
      'flowmesh.hop': hop.hop,
      'flowmesh.attempt': hop.attempt,
      'flowmesh.outcome': hop.outcome,
    };
    // Absent values are left out, not sent empty (the exporters encode an undefined value as an empty one).
    if (hop.nodeId) attributes[ATTR.nodeId] = hop.nodeId;
    if (hop.nodeKind) attributes[ATTR.nodeKind] = hop.nodeKind;
    if (hop.policyIds && hop.policyIds.length > 0) attributes[ATTR.policyIds] = hop.policyIds;
    // The hop's own attributes, where they do not name one of flowmesh's.
    if (hop.attributes) for (const key in hop.attributes) attributes[key] ??= hop.attributes[key];
    return attributes;
  };

  return {
    record(hop) {
      try {
        // What the row keeps beside its columns: the hop's own attributes, the step's place, the rules.
        const stored: Record<string, unknown> = hop.attributes ? storedAttributes(hop.attributes) : {};
        stored[ATTR.stepSeq] = hop.seq;
        if (hop.policyIds && hop.policyIds.length > 0) stored[ATTR.policyIds] = hop.policyIds;
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
          attributes: NO_ATTRIBUTES,
          status: FAILED_OUTCOMES.has(hop.outcome)
            ? { code: SpanStatusCode.ERROR, message: hop.outcome }
            : UNSET_STATUS,
        };
        storeRow(facts, {
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
        if (spans.exporting) {
          facts.attributes = hopAttributes(hop);
          spans.emit(facts);
        }
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
        storeRow(facts, {
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
        if (spans.exporting) spans.emit(facts);
      } catch (error) {
        logger.warn('item span not recorded', { workItemId: end.workItemId, error: String(error) });
      }
    },
  };
}
