// Records: work items and steps as the core holds them (Dates, not strings), and their API views.
import type { JsonObject, JsonValue } from './json.js';
import type { Step, StepState, WorkItem, WorkItemState } from './work-item.js';

export interface WorkItemRecord {
  id: string;
  kind: string;
  title: string | null;
  state: WorkItemState;
  priority: number;
  attributes: JsonObject;
  payload: JsonValue | null;
  result: JsonValue | null;
  dueAt: Date | null;
  traceparent: string;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface StepRecord {
  id: string;
  workItemId: string;
  seq: number;
  capability: string;
  state: StepState;
  nodeId: string | null;
  attempt: number;
  priority: number;
  leaseToken: string | null;
  leaseExpiresAt: Date | null;
  queuedAt: Date;
  claimedAt: Date | null;
  finishedAt: Date | null;
  result: JsonValue | null;
  error: JsonValue | null;
  /** Node ids that may claim the step now (capabilities/router computes it). */
  eligibleNodes: string[];
  /** Nodes with the capability that were left out, and why. */
  exclusions: Exclusion[];
  routing: StepRouting;
  /** Fallback tiers opened to this step (0 = first tier only). */
  tier: number;
  /** Claim order: queued_at minus the priority's head start (see AGING_SECONDS_PER_PRIORITY). */
  rankAt: Date;
}

export type StepRouting = 'routable' | 'unroutable';

/** A node left out of a step's eligible set: `away`, `draining`, `circuit_open`, `fallback_tier`, `policy`… */
export interface Exclusion {
  nodeId: string;
  reason: string;
  detail?: string;
  ruleIds?: string[];
}

/** One priority point is worth this much waiting: a priority-0 step waiting 100 minutes ranks with a fresh priority-100 one. */
export const AGING_SECONDS_PER_PRIORITY = 60;

export function rankAt(queuedAt: Date, priority: number): Date {
  return new Date(queuedAt.getTime() - priority * AGING_SECONDS_PER_PRIORITY * 1000);
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function traceIdOf(traceparent: string): string {
  return traceparent.split('-')[1] ?? '';
}

export function stepView(step: StepRecord): Step {
  return {
    id: step.id,
    capability: step.capability,
    state: step.state,
    nodeId: step.nodeId,
    attempt: step.attempt,
    queuedAt: step.queuedAt.toISOString(),
    claimedAt: iso(step.claimedAt),
    finishedAt: iso(step.finishedAt),
    result: step.result,
    routing: step.routing,
    eligibleNodes: step.eligibleNodes,
    exclusions: step.exclusions,
  };
}

export function workItemView(item: WorkItemRecord, steps: readonly StepRecord[]): WorkItem {
  return {
    id: item.id,
    kind: item.kind,
    title: item.title,
    state: item.state,
    priority: item.priority,
    attributes: item.attributes,
    payload: item.payload,
    dueAt: iso(item.dueAt),
    steps: [...steps].sort((a, b) => a.seq - b.seq).map(stepView),
    result: item.result,
    createdAt: item.createdAt.toISOString(),
    updatedAt: item.updatedAt.toISOString(),
    traceId: traceIdOf(item.traceparent),
  };
}
