// Hop spans: each hop is written after the fact with its explicit start and end, as a child of the
// item's root context (its stored traceparent), so no span stays open across a human wait.
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { parseTraceparent } from '../work/ids.js';
import type { Logger } from '../work/logger.js';
import { ATTR, type Hop, hopSpanName, ITEM_SPAN_NAME, WORK_HOPS } from './attributes.js';
import { type PresetIdGenerator, stepSpanId } from './span-ids.js';

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

export function createHopTracer(deps: { tracer: Tracer; ids: PresetIdGenerator; logger: Logger }): HopTracer {
  const { tracer, ids, logger } = deps;
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
        if (hop.policyIds && hop.policyIds.length > 0) attributes[ATTR.policyIds] = hop.policyIds;
        const start = () =>
          tracer.startSpan(
            hopSpanName(hop.hop),
            { kind: SpanKind.INTERNAL, startTime: hop.startedAt, attributes },
            parentContext(hop.traceparent),
          );
        // The work span's id is the one handed out with the claim, so agent spans nest under it.
        const span = WORK_HOPS.has(hop.hop)
          ? ids.withIds({ spanId: stepSpanId(hop.stepId, hop.attempt) }, start)
          : start();
        if (FAILED_OUTCOMES.has(hop.outcome))
          span.setStatus({ code: SpanStatusCode.ERROR, message: hop.outcome });
        span.end(new Date(Math.max(hop.endedAt.getTime(), hop.startedAt.getTime())));
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
        const root = parseTraceparent(end.traceparent);
        const span = ids.withIds(root ? { traceId: root.traceId, spanId: root.spanId } : {}, () =>
          tracer.startSpan(
            ITEM_SPAN_NAME,
            {
              kind: SpanKind.INTERNAL,
              startTime: end.createdAt,
              root: true,
              attributes: {
                [ATTR.workItemId]: end.workItemId,
                [ATTR.workItemKind]: end.workItemKind,
                [ATTR.workItemState]: end.state,
                [ATTR.outcome]: end.state,
              },
            },
            ROOT_CONTEXT,
          ),
        );
        if (end.state !== 'done') span.setStatus({ code: SpanStatusCode.ERROR, message: end.state });
        span.end(new Date(Math.max(end.endedAt.getTime(), end.createdAt.getTime())));
      } catch (error) {
        logger.warn('item span not recorded', { workItemId: end.workItemId, error: String(error) });
      }
    },
  };
}
