// One span as the span store keeps it: flat columns for what reconstruction reads, the rest as attributes.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR, isHop } from './attributes.js';

export type SpanSource = 'hop' | 'item' | 'agent';

export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  source: SpanSource;
  hop: string | null;
  workItemId: string | null;
  kind: string | null;
  stepId: string | null;
  capability: string | null;
  nodeId: string | null;
  nodeKind: string | null;
  attempt: number | null;
  outcome: string | null;
  startAt: Date;
  endAt: Date;
  attributes: Record<string, unknown>;
}

export function hrTimeToMs(t: HrTime): number {
  return t[0] * 1000 + t[1] / 1e6;
}

function str(a: Attributes, key: string): string | null {
  const v = a[key];
  return typeof v === 'string' ? v : null;
}

function int(a: Attributes, key: string): number | null {
  const v = a[key];
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function uuid(a: Attributes, key: string): string | null {
  const v = str(a, key);
  return v && UUID_RE.test(v) ? v.toLowerCase() : null;
}

/** Flattens span attributes into the row's columns; `source` says what kind of span it is. */
export function rowFromAttributes(
  base: Pick<SpanRow, 'traceId' | 'spanId' | 'parentSpanId' | 'name' | 'startAt' | 'endAt'>,
  attributes: Attributes,
  source: SpanSource,
): SpanRow {
  const hop = str(attributes, ATTR.hop);
  return {
    ...base,
    source,
    hop: source === 'hop' && isHop(hop) ? hop : null,
    workItemId: uuid(attributes, ATTR.workItemId),
    kind: str(attributes, ATTR.workItemKind),
    stepId: uuid(attributes, ATTR.step),
    capability: str(attributes, ATTR.capability),
    nodeId: str(attributes, ATTR.nodeId),
    nodeKind: str(attributes, ATTR.nodeKind),
    attempt: int(attributes, ATTR.attempt),
    outcome: str(attributes, ATTR.outcome),
    attributes: { ...attributes },
  };
}

/** The row of a finished SDK span, or undefined when it is not one the span store keeps. */
export function rowFromReadableSpan(span: ReadableSpan): SpanRow | undefined {
  const a = span.attributes;
  const source: SpanSource | undefined = isHop(a[ATTR.hop])
    ? 'hop'
    : typeof a[ATTR.workItemState] === 'string'
      ? 'item'
      : undefined;
  if (!source) return undefined;
  const ctx = span.spanContext();
  return rowFromAttributes(
    {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: span.parentSpanContext?.spanId ?? null,
      name: span.name,
      startAt: new Date(hrTimeToMs(span.startTime)),
      endAt: new Date(hrTimeToMs(span.endTime)),
    },
    a,
    source,
  );
}
