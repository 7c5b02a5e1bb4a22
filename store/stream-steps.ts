// Queries binding value-stream steps (`<stream step>#<visit>`) to the router's steps, and finding the
// items whose streams a restart must look at.
import { sql } from 'drizzle-orm';
import type { Database, Store } from './database.js';

export async function findStreamStepId(
  store: Store,
  db: Database,
  workItemId: string,
  stepKey: string,
): Promise<string | undefined> {
  const [row] = await store.rows<{ step_id: string }>(
    sql`select step_id from stream_steps where work_item_id = ${workItemId}::uuid and step_key = ${stepKey}`,
    db,
  );
  return row?.step_id;
}

/**
 * The stream step a router step carries: its own binding, or, for a step that a handoff made, the
 * binding of the step it was handed off from (following the chain of `step.handed_off` events).
 */
export async function findStreamStepKey(
  store: Store,
  db: Database,
  stepId: string,
): Promise<string | undefined> {
  const [row] = await store.rows<{ step_key: string }>(
    sql`with recursive chain(step_id, depth) as (
        select ${stepId}::uuid, 0
        union all
        select e.step_id, c.depth + 1 from events e join chain c
          on e.type = 'step.handed_off' and e.data->>'nextStepId' = c.step_id::text
        where c.depth < 50 and e.step_id is not null
      )
      select b.step_key from chain c join stream_steps b on b.step_id = c.step_id
      order by c.depth limit 1`,
    db,
  );
  return row?.step_key;
}

/** True while the item has a step that is queued or claimed. */
export async function hasOpenSteps(store: Store, db: Database, workItemId: string): Promise<boolean> {
  const rows = await store.rows<{ one: number }>(
    sql`select 1 as one from steps where work_item_id = ${workItemId}::uuid and state in ('queued', 'claimed')
      limit 1`,
    db,
  );
  return rows.length > 0;
}

/** Binds a stream step to a router step; false when the key was already bound (nothing changes). */
export async function bindStreamStep(
  store: Store,
  db: Database,
  input: { workItemId: string; stepKey: string; stepId: string },
): Promise<boolean> {
  const rows = await store.rows<{ step_id: string }>(
    sql`insert into stream_steps (work_item_id, step_key, step_id)
      values (${input.workItemId}::uuid, ${input.stepKey}, ${input.stepId}::uuid)
      on conflict do nothing returning step_id`,
    db,
  );
  return rows.length > 0;
}

/** True when a stream step of the item was routed: the item follows its kind's value stream. */
export async function itemFollowsStream(store: Store, db: Database, workItemId: string): Promise<boolean> {
  const rows = await store.rows<{ one: number }>(
    sql`select 1 as one from stream_steps where work_item_id = ${workItemId}::uuid limit 1`,
    db,
  );
  return rows.length > 0;
}

/** Open items that follow a value stream (the ones a restart must take on). */
export async function findOpenStreamedItemIds(store: Store): Promise<string[]> {
  const rows = await store.rows<{ id: string }>(
    sql`select w.id from work_items w
      where w.state = 'open' and exists (select 1 from stream_steps b where b.work_item_id = w.id)
      order by w.created_at`,
  );
  return rows.map((r) => r.id);
}

/**
 * Where the stream step `stepKey` stands: the router step that carries it now (the bound step, or the
 * last step of its chain of handoffs), with its state and result. Undefined when the key is not bound.
 */
export async function findStreamStepOutcome(
  store: Store,
  db: Database,
  workItemId: string,
  stepKey: string,
): Promise<{ stepId: string; state: string; result: unknown } | undefined> {
  const [row] = await store.rows<{ id: string; state: string; result: unknown }>(
    sql`with recursive chain(step_id, depth) as (
        select step_id, 0 from stream_steps where work_item_id = ${workItemId}::uuid and step_key = ${stepKey}
        union all
        select (e.data->>'nextStepId')::uuid, c.depth + 1 from events e join chain c
          on e.work_item_id = ${workItemId}::uuid and e.type = 'step.handed_off' and e.step_id = c.step_id
        where c.depth < 50
      )
      select s.id, s.state, s.result from chain c join steps s on s.id = c.step_id
      order by c.depth desc limit 1`,
    db,
  );
  // Both drivers parse jsonb, so a result that is a JSON string arrives as that string.
  return row ? { stepId: row.id, state: row.state, result: row.result } : undefined;
}
