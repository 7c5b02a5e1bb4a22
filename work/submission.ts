// Turning a validated submission into the records to write: the item, its first step, the events.
import type { NewEvent } from './events.js';
import { uuidv7 } from './ids.js';
import { rankAt, type StepRecord, type WorkItemRecord } from './records.js';
import { DEFAULT_PRIORITY, type SubmitWorkItem } from './work-item.js';

export interface NewSubmission {
  item: WorkItemRecord;
  steps: StepRecord[];
  events: NewEvent[];
}

export interface SubmissionContext {
  now: Date;
  createdBy: string;
  capability: string;
  traceparent: string;
}

export function newSubmission(input: SubmitWorkItem, ctx: SubmissionContext): NewSubmission {
  const now = ctx.now;
  const priority = input.priority ?? DEFAULT_PRIORITY;
  const item: WorkItemRecord = {
    id: uuidv7(now.getTime()),
    kind: input.kind,
    title: input.title ?? null,
    state: 'open',
    priority,
    attributes: input.attributes ?? {},
    payload: input.payload ?? null,
    result: null,
    dueAt: input.dueAt ? new Date(input.dueAt) : null,
    traceparent: ctx.traceparent,
    createdBy: ctx.createdBy,
    createdAt: now,
    updatedAt: now,
  };
  const step = newStep(item, ctx.capability, 1, now);
  return {
    item,
    steps: [step],
    events: [
      {
        workItemId: item.id,
        stepId: null,
        type: 'work_item.created',
        data: { kind: item.kind, priority, createdBy: ctx.createdBy },
        at: now,
      },
      stepQueuedEvent(step),
    ],
  };
}

export function newStep(
  item: Pick<WorkItemRecord, 'id' | 'priority'>,
  capability: string,
  seq: number,
  now: Date,
): StepRecord {
  return {
    id: uuidv7(now.getTime()),
    workItemId: item.id,
    seq,
    capability,
    state: 'queued',
    nodeId: null,
    attempt: 1,
    priority: item.priority,
    leaseToken: null,
    leaseExpiresAt: null,
    queuedAt: now,
    claimedAt: null,
    finishedAt: null,
    result: null,
    error: null,
    eligibleNodes: [],
    exclusions: [],
    routing: 'routable',
    tier: 0,
    rankAt: rankAt(now, item.priority),
  };
}

export function stepQueuedEvent(step: StepRecord): NewEvent {
  return {
    workItemId: step.workItemId,
    stepId: step.id,
    type: 'step.queued',
    data: { capability: step.capability, attempt: step.attempt, seq: step.seq },
    at: step.queuedAt,
  };
}
