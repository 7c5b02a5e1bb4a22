// Queries of the common completion: read the item with its steps (one statement), then finish the
// step, log its events and decision and close the item in one call of flowmesh_complete, which
// changes nothing unless the lease still holds. Hand-written SQL sent straight to the driver.
import type { DecisionRecord } from '../work/decision.js';
import type { NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { Store } from './database.js';
import { ITEM_COLUMNS, itemFromRow, type Row, stepFromRow } from './rows.js';

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

export interface ItemForCompletion {
  item: WorkItemRecord;
  /** Every step of the item, in seq order. */
  steps: StepRecord[];
  /** A completion policy required a step of this item: its completions go through the policy gate. */
  hasRequirements: boolean;
  /** The item follows its kind's value stream. */
  streamed: boolean;
}

const READ = `select s.*, ${ITEM_COLUMNS},
    exists (select 1 from policy_requirements r where r.work_item_id = w.id) as f_required,
    exists (select 1 from stream_steps b where b.work_item_id = w.id) as f_streamed
  from work_items w join steps s on s.work_item_id = w.id
  where w.id = $1::uuid
  order by s.seq`;

/** The item with all its steps (no lock: the write that follows re-checks the lease). */
export async function readItemForCompletion(
  store: Store,
  workItemId: string,
): Promise<ItemForCompletion | undefined> {
  const rows = await store.query<Row>(READ, [workItemId]);
  const first = rows[0];
  if (!first) return undefined;
  return {
    item: itemFromRow(first, 'w_'),
    steps: rows.map((r) => stepFromRow(r)),
    hasRequirements: first.f_required === true,
    streamed: first.f_streamed === true,
  };
}

export interface CompletionWrite {
  workItemId: string;
  stepId: string;
  leaseToken: string;
  now: Date;
  result: unknown;
  /** Close the item as done with this result (the last step of an item that follows no stream). */
  finishItem: { result: unknown } | undefined;
  events: readonly NewEvent[];
  decision: DecisionRecord | undefined;
  /**
   * The caller decided from the claim it made instead of reading the item: the write then also
   * requires that the item has no policy requirement and follows no value stream (what the read
   * would have checked), and returns all the item's steps.
   */
  unread?: boolean;
}

export type CompletionWritten =
  | { written: false }
  /** `steps`: after the write; with `unread` every step of the item, else the completed one. */
  | { written: true; steps: StepRecord[] };

const WRITE = `select * from flowmesh_complete($1::uuid, $2::uuid, $3::uuid, $4::timestamptz, $5::jsonb,
  $6::boolean, $7::jsonb, $8::jsonb, $9::jsonb, $10::boolean)`;

/**
 * Completes a held step in one call of flowmesh_complete (migration 0011): nothing changes unless
 * the step is still claimed under this lease token and the lease has not run out (checked on the
 * row as the update locks it), so a lost lease changes nothing; `written` is false then.
 */
export async function writeCompletion(store: Store, w: CompletionWrite): Promise<CompletionWritten> {
  const events = w.events.map((e) => ({
    work_item_id: e.workItemId,
    step_id: e.stepId,
    type: e.type,
    data: e.data,
    at: e.at.toISOString(),
  }));
  const d = w.decision;
  const decisions = d
    ? [
        {
          id: d.id,
          work_item_id: d.workItemId,
          step_id: d.stepId,
          hook: d.hook,
          outcome: d.outcome,
          policy_version: d.policyVersion,
          rule_ids: d.ruleIds,
          details: d.details,
          at: d.at.toISOString(),
        },
      ]
    : [];
  const rows = await store.query<Row>(WRITE, [
    w.workItemId,
    w.stepId,
    w.leaseToken,
    w.now.toISOString(),
    json(w.result),
    w.finishItem !== undefined,
    json(w.finishItem?.result),
    JSON.stringify(events),
    JSON.stringify(decisions),
    w.unread === true,
  ]);
  if (rows.length === 0) return { written: false };
  return { written: true, steps: rows.map((r) => stepFromRow(r)) };
}
