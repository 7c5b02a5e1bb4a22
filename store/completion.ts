// Queries of the common completion: read the item with its steps (one statement), then finish the
// step, log its events and decision and close the item in one fenced statement, which changes
// nothing unless the lease still holds. Hand-written SQL sent straight to the driver: a hot path.
import type { DecisionRecord } from '../work/decision.js';
import type { NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { Store } from './database.js';
import { ITEM_COLUMNS, itemFromRow, pgArray, type Row, stepFromRow } from './rows.js';

/** Positional parameters: `p.add(value, 'uuid')` appends the value and returns `$n::uuid`. */
class Params {
  readonly list: unknown[] = [];
  add(value: unknown, cast?: string): string {
    this.list.push(value);
    return cast ? `$${this.list.length}::${cast}` : `$${this.list.length}`;
  }
}

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
   * would have checked), and returns the item's steps.
   */
  unread?: boolean;
}

export type CompletionWritten =
  | { written: false }
  /** `steps`: with `unread`, the item's steps as they were before this write. */
  | { written: true; steps: StepRecord[] | undefined };

/**
 * Completes a held step in one statement: every part runs only if the step is still claimed under
 * this lease token and the lease has not run out (checked on the row as it is when the update takes
 * its lock), so a lost lease changes nothing. Returns false then.
 */
export async function writeCompletion(store: Store, w: CompletionWrite): Promise<CompletionWritten> {
  const p = new Params();
  const now = p.add(w.now.toISOString(), 'timestamptz');
  const item = p.add(w.workItemId, 'uuid');
  const unread = w.unread
    ? `and not exists (select 1 from policy_requirements r where r.work_item_id = ${item})
        and not exists (select 1 from stream_steps b where b.work_item_id = ${item})`
    : '';
  let text = `with s as (
      update steps set state = 'completed', finished_at = ${now}, lease_token = null, lease_expires_at = null,
        result = ${p.add(json(w.result), 'jsonb')}
      where id = ${p.add(w.stepId, 'uuid')} and work_item_id = ${item} and state = 'claimed'
        and lease_token = ${p.add(w.leaseToken, 'uuid')} and lease_expires_at > ${now} ${unread}
      returning id
    )`;
  if (w.finishItem) {
    text += `, w as (
      update work_items set state = 'done', updated_at = ${now},
        result = coalesce(${p.add(json(w.finishItem.result), 'jsonb')}, result)
      where id = ${item} and state = 'open' and exists (select 1 from s)
    )`;
  }
  if (w.events.length > 0) {
    const values = w.events.map(
      (e) =>
        `(${p.add(e.workItemId, 'uuid')}, ${p.add(e.stepId, 'uuid')}, ${p.add(e.type)}, ${p.add(JSON.stringify(e.data), 'jsonb')}, ${p.add(e.at.toISOString(), 'timestamptz')})`,
    );
    text += `, e as (
      insert into events (work_item_id, step_id, type, data, at)
      select v.* from (values ${values.join(', ')}) as v(work_item_id, step_id, type, data, at)
      where exists (select 1 from s)
    )`;
  }
  const d = w.decision;
  if (d) {
    text += `, d as (
      insert into decisions (id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at)
      select ${p.add(d.id, 'uuid')}, ${p.add(d.workItemId, 'uuid')}, ${p.add(d.stepId, 'uuid')}, ${p.add(d.hook)},
        ${p.add(d.outcome)}, ${p.add(d.policyVersion)}, ${p.add(pgArray(d.ruleIds), 'text[]')},
        ${p.add(JSON.stringify(d.details), 'jsonb')}, ${p.add(d.at.toISOString(), 'timestamptz')}
      where exists (select 1 from s)
    )`;
  }
  if (!w.unread) {
    const rows = await store.query<{ n: number }>(`${text}\n    select count(*)::int as n from s`, p.list);
    return Number(rows[0]?.n ?? 0) > 0 ? { written: true, steps: undefined } : { written: false };
  }
  // The steps as this statement's snapshot has them: the step just completed still shows as claimed.
  const rows = await store.query<Row>(
    `${text}\n    select st.*, (select count(*)::int from s) as f_written from steps st
      where st.work_item_id = ${item} order by st.seq`,
    p.list,
  );
  if (Number(rows[0]?.f_written ?? 0) === 0) return { written: false };
  return { written: true, steps: rows.map((r) => stepFromRow(r)) };
}
