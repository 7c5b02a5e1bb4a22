// Which events a live subscriber (SSE stream, webhook) wants: event types (exact, or a family as
// `escalation.*`), work-item kinds, and, for callers who see only their own items, the submitter.

export interface EventFilter {
  /** `step.completed`, or `escalation.*` for every type that starts with `escalation.`. Empty: all. */
  types: readonly string[];
  /** Work-item kinds. Empty: all. */
  kinds: readonly string[];
  /** Only events of items this principal submitted (submitters and agents). */
  createdBy?: string | undefined;
  workItemId?: string | undefined;
}

/** An event of the log with the facts of its item that filters need. */
export interface FeedEvent {
  id: number;
  workItemId: string;
  stepId: string | null;
  type: string;
  data: Record<string, unknown>;
  at: Date;
  /** The item's kind. */
  kind: string;
  /** Who submitted the item. */
  createdBy: string;
  /** The item's W3C traceparent, for channels that carry trace context (webhooks). */
  traceparent: string | null;
}

/** An event type, a family (`escalation.*`), or `*` for every event. */
export const EVENT_TYPE_PATTERN = /^(\*|[a-z][a-z_]*(\.[a-z_]+)*(\.\*)?)$/;

/** Type patterns as filters use them: `*` anywhere means no type filter. */
export function normalizeTypes(types: readonly string[]): string[] {
  return types.includes('*') ? [] : [...new Set(types)];
}

export function splitTypes(types: readonly string[]): { exact: string[]; prefixes: string[] } {
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const t of types) {
    if (t.endsWith('.*')) prefixes.push(t.slice(0, -1));
    else exact.push(t);
  }
  return { exact, prefixes };
}

export function matchesEvent(filter: EventFilter, event: FeedEvent): boolean {
  if (filter.createdBy !== undefined && event.createdBy !== filter.createdBy) return false;
  if (filter.workItemId !== undefined && event.workItemId !== filter.workItemId) return false;
  if (filter.kinds.length > 0 && !filter.kinds.includes(event.kind)) return false;
  if (filter.types.length === 0) return true;
  return filter.types.some((t) =>
    t.endsWith('.*') ? event.type.startsWith(t.slice(0, -1)) : event.type === t,
  );
}

/** The JSON every live channel sends for an event (SSE `data`, webhook body). */
export function eventPayload(event: FeedEvent): Record<string, unknown> {
  return {
    id: String(event.id),
    type: event.type,
    workItemId: event.workItemId,
    workItemKind: event.kind,
    stepId: event.stepId,
    data: event.data,
    at: event.at.toISOString(),
  };
}
