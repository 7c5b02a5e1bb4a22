// The append-only event log's vocabulary: one row per state change, written in the change's transaction.
import type { JsonObject } from './json.js';

export const EVENT_TYPES = [
  'work_item.created',
  'work_item.done',
  'work_item.failed',
  'work_item.cancelled',
  'work_item.rejected',
  /** A value-stream step filled in attributes the item did not have. */
  'work_item.attributes_added',
  'step.queued',
  'step.claimed',
  'step.heartbeat',
  'step.completed',
  'step.failed',
  'step.requeued',
  'step.handed_off',
  'step.cancelled',
  'step.widened',
  'step.rerouted',
  'step.unroutable',
  'escalation.opened',
  'escalation.acknowledged',
  'escalation.assigned',
  'escalation.resolved',
  'work_item.reopened',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An event about to be written: the log assigns `id`. */
export interface NewEvent {
  workItemId: string;
  stepId: string | null;
  type: EventType | (string & {});
  data: JsonObject;
  at: Date;
}

/** An event as read back from the log; `id` orders the log and resumes streams. */
export interface LoggedEvent extends NewEvent {
  id: string;
}
