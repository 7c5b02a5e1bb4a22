// One span as the span store keeps it: flat columns for what reconstruction reads, the rest as attributes.
// A hop or item span's attributes that have a column of their own are kept only in the column (half the
// bytes every batch sends and PostgreSQL parses); reads put them back (withColumnAttributes).
import { ATTR } from './attributes.js';

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

/** flowmesh attributes that the span store keeps in columns of hop and item rows. */
const COLUMN_ATTRIBUTES: ReadonlySet<string> = new Set([
  ATTR.workItemId,
  ATTR.workItemKind,
  ATTR.workItemState,
  ATTR.step,
  ATTR.capability,
  ATTR.hop,
  ATTR.attempt,
  ATTR.outcome,
  ATTR.nodeId,
  ATTR.nodeKind,
]);

/** A hop or item span's attributes without the ones its row's columns carry. */
export function storedAttributes(attributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in attributes) if (!COLUMN_ATTRIBUTES.has(key)) out[key] = attributes[key];
  return out;
}

/** The attributes of a stored hop or item span as it was recorded: columns put back. Agent spans as stored. */
export function withColumnAttributes(
  row: Omit<SpanRow, 'traceId' | 'spanId' | 'parentSpanId' | 'name' | 'startAt' | 'endAt'>,
): Record<string, unknown> {
  if (row.source === 'agent') return row.attributes;
  const columns: Record<string, unknown> = {};
  if (row.workItemId !== null) columns[ATTR.workItemId] = row.workItemId;
  if (row.kind !== null) columns[ATTR.workItemKind] = row.kind;
  if (row.source === 'item') {
    if (row.outcome !== null) columns[ATTR.workItemState] = row.outcome;
  } else {
    if (row.stepId !== null) columns[ATTR.step] = row.stepId;
    if (row.capability !== null) columns[ATTR.capability] = row.capability;
    if (row.hop !== null) columns[ATTR.hop] = row.hop;
    if (row.attempt !== null) columns[ATTR.attempt] = row.attempt;
    if (row.nodeId !== null) columns[ATTR.nodeId] = row.nodeId;
    if (row.nodeKind !== null) columns[ATTR.nodeKind] = row.nodeKind;
  }
  if (row.outcome !== null) columns[ATTR.outcome] = row.outcome;
  return { ...columns, ...row.attributes };
}
