// Hop spans: each hop is written after the fact with its explicit start and end, as a child of the
// item's root context (its stored traceparent), so no span stays open across a human wait.
//
// A hop is a record of something that already happened, never a live span: there is nothing to
// propagate, nothing to end later, no limits to apply to a dozen known attributes. So hop and item
// spans are not started through the SDK's Tracer. Each becomes a span-store row directly (always,
// sampled or not: the value stream needs every hop) and, when something exports spans and the
// configured sampler keeps the trace, a finished ReadableSpan handed to the exporting processors (the
// OTLP BatchSpanProcessor), as the SDK would hand it. Building, sanitizing and then parsing an SDK span
// back into a row cost more than the rest of tracing together on the submit → claim → complete loop.
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
import type { Resource } from '@opentelemetry/resources';
import {
  RandomIdGenerator,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { parseTraceparent } from '../work/ids.js';
import type { Logger } from '../work/logger.js';
import { stepSpanId } from '../work/trace-context.js';
import { ATTR, type Hop, hopSpanName, ITEM_SPAN_NAME, WORK_HOPS } from './attributes.js';
import type { SpanRow } from './span-row.js';

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
  /** Processors that export finished spans (OTLP batch, extra processors); none: nothing is exported. */
  exporters: readonly SpanProcessor[];
  /** The configured sampler: decides export, never storage. */
  sampler: Sampler;
  resource: Resource;
  scope: { name: string; version?: string };
  logger: Logger;
}

const hrTime = (ms: number): [number, number] => {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
};

interface SpanFacts {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  /** The parent's sampled flag, for the sampler; undefined for a root span. */
  parentSampled: boolean | undefined;
  startAt: Date;
  endAt: Date;
  attributes: Attributes;
  status: SpanStatus;
}

export function createHopTracer(deps: HopTracerDeps): HopTracer {
  const { store, exporters, sampler, resource, scope, logger } = deps;
  const random = new RandomIdGenerator();

  const parentOf = (facts: SpanFacts): Context =>
    facts.parentSpanId === null || facts.parentSampled === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, {
          traceId: facts.traceId,
          spanId: facts.parentSpanId,
          traceFlags: facts.parentSampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
        });

  /** Hands the span to the exporters when the sampler keeps it, as the SDK does for a sampled span. */
  const exportSpan = (facts: SpanFacts) => {
    const decision = sampler.shouldSample(
      parentOf(facts),
      facts.traceId,
      facts.name,
      SpanKind.INTERNAL,
      facts.attributes,
      [],
    );
    if (decision.decision !== SamplingDecision.RECORD_AND_SAMPLED) return;
    const start = facts.startAt.getTime();
    const end = facts.endAt.getTime();
    const context = { traceId: facts.traceId, spanId: facts.spanId, traceFlags: TraceFlags.SAMPLED };
    const span: ReadableSpan = {
      name: facts.name,
      kind: SpanKind.INTERNAL,
      spanContext: () => context,
      ...(facts.parentSpanId === null
        ? {}
        : {
            parentSpanContext: {
              traceId: facts.traceId,
              spanId: facts.parentSpanId,
              traceFlags: facts.parentSampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
              isRemote: true,
            },
          }),
      startTime: hrTime(start),
      endTime: hrTime(end),
      duration: hrTime(end - start),
      status: facts.status,
      attributes: decision.attributes ? { ...facts.attributes, ...decision.attributes } : facts.attributes,
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    for (const processor of exporters) processor.onEnd(span);
  };

  const emit = (facts: SpanFacts, row: Omit<SpanRow, 'traceId' | 'spanId' | 'parentSpanId' | 'name'>) => {
    store({
      traceId: facts.traceId,
      spanId: facts.spanId,
      parentSpanId: facts.parentSpanId,
      name: facts.name,
      ...row,
    });
    if (exporters.length > 0) exportSpan(facts);
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
        if (hop.policyIds && hop.policyIds.length > 0) attributes[ATTR.policyIds] = hop.policyIds;
        const parent = parseTraceparent(hop.traceparent);
        const startAt = hop.startedAt;
        const endAt = hop.endedAt.getTime() < startAt.getTime() ? startAt : hop.endedAt;
        const facts: SpanFacts = {
          name: hopSpanName(hop.hop),
          traceId: parent?.traceId ?? random.generateTraceId(),
          // The work span's id is the one handed out with the claim, so agent spans nest under it.
          spanId: WORK_HOPS.has(hop.hop) ? stepSpanId(hop.stepId, hop.attempt) : random.generateSpanId(),
          parentSpanId: parent?.spanId ?? null,
          parentSampled: parent?.sampled,
          startAt,
          endAt,
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
          startAt,
          endAt,
          attributes,
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
        const startAt = end.createdAt;
        const endAt = end.endedAt.getTime() < startAt.getTime() ? startAt : end.endedAt;
        const facts: SpanFacts = {
          name: ITEM_SPAN_NAME,
          traceId: root?.traceId ?? random.generateTraceId(),
          spanId: root?.spanId ?? random.generateSpanId(),
          parentSpanId: null,
          parentSampled: undefined,
          startAt,
          endAt,
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
          startAt,
          endAt,
          attributes,
        });
      } catch (error) {
        logger.warn('item span not recorded', { workItemId: end.workItemId, error: String(error) });
      }
    },
  };
}
