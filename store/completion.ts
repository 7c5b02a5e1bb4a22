// Queries of the common completion: read the item with its steps (one statement), then finish the
// step, log its events and decision and close the item through flowmesh_complete_batch, which
// changes nothing unless the lease still holds. Hand-written SQL sent straight to the driver.
import type { DecisionRecord } from '../work/decision.js';
import type { NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { Store } from './database.js';
import { decisionJson, eventJson, ITEM_COLUMNS, itemFromRow, type Row, stepFromRow } from './rows.js';

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

/**
 * Completions in one statement: flowmesh_complete_batch (migration 0013), each row answered as
 * flowmesh_complete (0010) would answer it alone; `c_n` tells which input a returned step belongs to.
 * One statement is one transaction, so a batch of completions (capabilities/router.ts group-commits
 * them) costs one round trip and one commit. The batch is one jsonb parameter, parsed once.
 */
const WRITE = `select f.c_n, (f.c_step).* from flowmesh_complete_batch($1::jsonb) f
  order by f.c_n, (f.c_step).seq`;

function completionRow(w: CompletionWrite, n: number): Record<string, unknown> {
  return {
    n,
    item: w.workItemId,
    step: w.stepId,
    token: w.leaseToken,
    now: w.now.toISOString(),
    result: w.result ?? null,
    finish: w.finishItem !== undefined,
    item_result: w.finishItem?.result ?? null,
    events: w.events.map(eventJson),
    decisions: w.decision ? [decisionJson(w.decision)] : [],
    unread: w.unread === true,
  };
}

/**
 * Completes held steps in one call of flowmesh_complete_batch: nothing changes for a step unless it is
 * still claimed under its lease token and the lease has not run out (checked on the row once it is
 * locked), so a lost lease changes nothing; `written` is false for it then. One result per input,
 * in order.
 */
export async function writeCompletions(
  store: Store,
  list: readonly CompletionWrite[],
): Promise<CompletionWritten[]> {
  if (list.length === 0) return [];
  const rows = await store.query<Row>(WRITE, [JSON.stringify(list.map(completionRow))]);
  const steps: StepRecord[][] = list.map(() => []);
  for (const r of rows) steps[Number(r.c_n)]?.push(stepFromRow(r));
  return steps.map((s) => (s.length === 0 ? { written: false } : { written: true, steps: s }));
}

/** One completion in its own statement. */
export async function writeCompletion(store: Store, w: CompletionWrite): Promise<CompletionWritten> {
  const [written] = await writeCompletions(store, [w]);
  return written ?? { written: false };
}
