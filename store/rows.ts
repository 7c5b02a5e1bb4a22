// Row mapping for raw SQL: both drivers return snake_case columns; timestamps and arrays may arrive
// as strings (postgres.js under drizzle) or as values (PGlite). These helpers normalize both.
import type { DecisionRecord } from '../work/decision.js';
import type { NewEvent } from '../work/events.js';
import type { JsonValue } from '../work/json.js';
import type { Exclusion, StepRecord, StepRouting, WorkItemRecord } from '../work/records.js';
import type { StepState, WorkItemState } from '../work/work-item.js';

export type Row = Record<string, unknown>;

/** The number `len` decimal digits at `at` spell, or -1 when one of them is not a digit. */
function digits(s: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * PostgreSQL's text form of a timestamptz, `2026-12-08 02:19:29.123456+00` (offset ±HH, ±HH:MM or
 * ±HH:MM:SS), as epoch milliseconds (fractions below a millisecond dropped, as Date does); undefined
 * for any other form (another year range, BC, infinity), which the general path below reads. Rows
 * carry several timestamps each, and building an ISO string for Date to parse cost more than this.
 */
function pgTimestampMs(s: string): number | undefined {
  if (s.length < 22 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 32) {
    return undefined;
  }
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  // Date.UTC reads years 0–99 as 1900–1999.
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    let scale = 100;
    const start = i;
    while (i < s.length) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      ms += d * scale;
      scale /= 10;
      i++;
    }
    if (i === start) return undefined;
    ms = Math.floor(ms);
  }
  const sign = s.charCodeAt(i) === 43 ? 1 : s.charCodeAt(i) === 45 ? -1 : 0;
  if (sign === 0) return undefined;
  const offsetHours = digits(s, i + 1, 2);
  if (offsetHours < 0) return undefined;
  let offset = offsetHours * 3600;
  i += 3;
  for (const unit of [60, 1]) {
    if (i === s.length) break;
    const part = s.charCodeAt(i) === 58 ? digits(s, i + 1, 2) : -1;
    if (part < 0) return undefined;
    offset += part * unit;
    i += 3;
  }
  if (i !== s.length) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - sign * offset * 1000;
}

export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string') {
    const ms = pgTimestampMs(v);
    if (ms !== undefined) return new Date(ms);
    let s = v.includes('T') ? v : v.replace(' ', 'T');
    if (/[+-]\d\d$/.test(s)) s += ':00';
    return new Date(s);
  }
  return new Date(Number(v));
}

export function toDateOrNull(v: unknown): Date | null {
  return v === null || v === undefined ? null : toDate(v);
}

export function toJson<T = JsonValue>(v: unknown): T {
  // Both drivers parse json and jsonb already; a string here is a JSON string value, not JSON text.
  return v as T;
}

/** A text[] value: a JS array, or PostgreSQL's `{a,b,"c d"}` text form. */
export function toTextArray(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== 'string' || v === '{}' || v === '') return [];
  const inner = v.slice(1, -1);
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|([^,]+)/g;
  for (const m of inner.matchAll(re))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
  return out;
}

export function stepFromRow(r: Row, prefix = ''): StepRecord {
  const g = (k: string) => r[prefix + k];
  return {
    id: String(g('id')),
    workItemId: String(g('work_item_id')),
    seq: Number(g('seq')),
    capability: String(g('capability')),
    state: g('state') as StepState,
    nodeId: (g('node_id') as string | null) ?? null,
    attempt: Number(g('attempt')),
    priority: Number(g('priority')),
    leaseToken: (g('lease_token') as string | null) ?? null,
    leaseExpiresAt: toDateOrNull(g('lease_expires_at')),
    queuedAt: toDate(g('queued_at')),
    claimedAt: toDateOrNull(g('claimed_at')),
    finishedAt: toDateOrNull(g('finished_at')),
    result: g('result') === null || g('result') === undefined ? null : toJson(g('result')),
    error: g('error') === null || g('error') === undefined ? null : toJson(g('error')),
    eligibleNodes: toTextArray(g('eligible_nodes')),
    exclusions: toJson<Exclusion[]>(g('exclusions') ?? []),
    routing: g('routing') as StepRouting,
    tier: Number(g('tier')),
    rankAt: toDate(g('rank_at')),
  };
}

export function itemFromRow(r: Row, prefix = ''): WorkItemRecord {
  const g = (k: string) => r[prefix + k];
  return {
    id: String(g('id')),
    kind: String(g('kind')),
    title: (g('title') as string | null) ?? null,
    state: g('state') as WorkItemState,
    priority: Number(g('priority')),
    attributes: toJson(g('attributes') ?? {}) as WorkItemRecord['attributes'],
    payload: g('payload') === null || g('payload') === undefined ? null : toJson(g('payload')),
    result: g('result') === null || g('result') === undefined ? null : toJson(g('result')),
    dueAt: toDateOrNull(g('due_at')),
    traceparent: String(g('traceparent')),
    createdBy: String(g('created_by')),
    createdAt: toDate(g('created_at')),
    updatedAt: toDate(g('updated_at')),
  };
}

/** Work-item columns prefixed `w_`, to select beside a step's columns. */
export const ITEM_COLUMNS = `w.id as w_id, w.kind as w_kind, w.title as w_title, w.state as w_state,
  w.priority as w_priority, w.attributes as w_attributes, w.payload as w_payload, w.result as w_result,
  w.due_at as w_due_at, w.traceparent as w_traceparent, w.created_by as w_created_by,
  w.created_at as w_created_at, w.updated_at as w_updated_at`;

/** A PostgreSQL array literal (`{"a","b"}`) for one bound parameter; drizzle would spread a JS array. */
export function pgArray(list: readonly (string | number)[]): string {
  return `{${list.map((v) => (typeof v === 'number' ? String(v) : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)).join(',')}}`;
}

/** An event as a row of a JSON recordset (jsonb_to_recordset); dates become ISO strings in JSON.stringify. */
export function eventJson(e: NewEvent): Record<string, unknown> {
  return { work_item_id: e.workItemId, step_id: e.stepId, type: e.type, data: e.data, at: e.at };
}

/** A policy decision as a row of a JSON recordset, with the decisions table's column names. */
export function decisionJson(d: DecisionRecord): Record<string, unknown> {
  return {
    id: d.id,
    work_item_id: d.workItemId,
    step_id: d.stepId,
    hook: d.hook,
    outcome: d.outcome,
    policy_version: d.policyVersion,
    rule_ids: d.ruleIds,
    details: d.details,
    at: d.at,
  };
}
