// Queries of the router: claiming with SKIP LOCKED within a node's capacity, fenced step updates,
// lease expiry, routing updates, escalations. Plain SQL: these are the hot paths.
import { type SQL, sql } from 'drizzle-orm';
import type { EscalationRecord } from '../work/escalation.js';
import type { NewEvent } from '../work/events.js';
import type { Exclusion, StepRecord, StepRouting, WorkItemRecord } from '../work/records.js';
import type { Database, Store } from './database.js';
import { ITEM_COLUMNS, itemFromRow, pgArray, type Row, stepFromRow, toDateOrNull } from './rows.js';
import { eventValues } from './work-items.js';

/** Advisory lock class for per-node claim serialization ("fmnd"); the second key is hashtext(node id). */
export const NODE_LOCK_CLASS = 0x666d6e64;
/** Advisory lock key of the sweeper ("fmsw"): one sweeper at a time across instances. */
export const SWEEP_LOCK_KEY = 0x666d7377;

const iso = (d: Date) => d.toISOString();
const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export interface StepWithItem {
  step: StepRecord;
  item: WorkItemRecord;
}

function withItem(rows: Row[]): StepWithItem[] {
  return rows.map((r) => ({ step: stepFromRow(r), item: itemFromRow(r, 'w_') }));
}

export function stepInsertValues(s: StepRecord): SQL {
  return sql`(${s.id}::uuid, ${s.workItemId}::uuid, ${s.seq}::int, ${s.capability}, ${s.state}, ${s.nodeId},
    ${s.attempt}::int, ${s.priority}::int, ${iso(s.queuedAt)}::timestamptz, ${pgArray(s.eligibleNodes)}::text[],
    ${JSON.stringify(s.exclusions)}::jsonb, ${s.routing}, ${s.tier}::int, ${iso(s.rankAt)}::timestamptz)`;
}

export const STEP_INSERT_COLUMNS = sql.raw(
  '(id, work_item_id, seq, capability, state, node_id, attempt, priority, queued_at, eligible_nodes, exclusions, routing, tier, rank_at)',
);

export function escalationInsertValues(e: EscalationRecord): SQL {
  return sql`(${e.id}::uuid, ${e.kind}, ${e.severity}, ${e.workItemId}::uuid, ${e.stepId}::uuid, ${e.reason},
    ${e.state}, ${e.owner}, ${JSON.stringify(e.details)}::jsonb, ${iso(e.createdAt)}::timestamptz, ${iso(e.updatedAt)}::timestamptz)`;
}

export const ESCALATION_INSERT_COLUMNS = sql.raw(
  '(id, kind, severity, work_item_id, step_id, reason, state, owner, details, created_at, updated_at)',
);

export async function insertSteps(store: Store, tx: Database, list: readonly StepRecord[]): Promise<void> {
  if (list.length === 0) return;
  await store.rows(
    sql`insert into steps ${STEP_INSERT_COLUMNS} values ${sql.join(list.map(stepInsertValues), sql`, `)}`,
    tx,
  );
}

/** Writes escalations; an open one of the same kind for the same step already there is kept instead. */
export async function insertEscalations(
  store: Store,
  tx: Database,
  list: readonly EscalationRecord[],
): Promise<string[]> {
  if (list.length === 0) return [];
  const rows = await store.rows<{ id: string }>(
    sql`insert into escalations ${ESCALATION_INSERT_COLUMNS} values ${sql.join(list.map(escalationInsertValues), sql`, `)}
      on conflict (step_id, kind) where state = 'open' do nothing returning id`,
    tx,
  );
  return rows.map((r) => r.id);
}

export async function insertEvents(store: Store, tx: Database, list: readonly NewEvent[]): Promise<void> {
  if (list.length === 0) return;
  await store.rows(
    sql`insert into events (work_item_id, step_id, type, data, at) values ${sql.join(list.map(eventValues), sql`, `)}`,
    tx,
  );
}

/** Serializes claims of one node across connections and instances, until the transaction ends. */
export async function lockNode(store: Store, tx: Database, nodeId: string): Promise<void> {
  await store.rows(
    sql`select pg_advisory_xact_lock(${NODE_LOCK_CLASS}::int, hashtext(${nodeId}))::text as ok`,
    tx,
  );
}

export interface ClaimQuery {
  nodeId: string;
  /** Capabilities the node may claim, each with its lease length. */
  capabilities: readonly { id: string; leaseSeconds: number }[];
  capacity: number;
  max: number;
  now: Date;
}

/**
 * Claims up to `max` of the best steps the node is eligible for, within its free capacity (counted
 * under a per-node advisory lock, so the count is current). Best = earliest rank_at (priority plus
 * aging), then oldest. Each capability's queue is read in index order, so cost does not grow with
 * its length.
 */
export async function claimQueued(store: Store, db: Database, q: ClaimQuery): Promise<StepWithItem[]> {
  const caps = q.capabilities.map((c) => c.id);
  const secs = q.capabilities.map((c) => c.leaseSeconds);
  // flowmesh_claim_items (migration 0010) locks the node, counts what it holds, claims and reads the
  // claimed steps' items, in one statement: run outside an explicit transaction it is one round trip.
  const rows = await store.query<Row>(
    'select * from flowmesh_claim_items($1, $2::text[], $3::int[], $4::int, $5::int, $6::timestamptz)',
    [q.nodeId, pgArray(caps), pgArray(secs), q.capacity, q.max, iso(q.now)],
  );
  if (rows.length === 0) return [];
  // The function reads each item in the statement that claimed its step, so it sees it. Should one
  // still be missing, it is read here rather than dropping a step that is already claimed.
  const missing = rows.filter((r) => r.w_id === null || r.w_id === undefined);
  const items = new Map<string, Row>();
  if (missing.length > 0) {
    const found = await store.rows<Row>(
      sql`select ${sql.raw(ITEM_COLUMNS)} from work_items w
        where w.id = any(${pgArray(missing.map((r) => String(r.s_work_item_id)))}::uuid[])`,
      db,
    );
    for (const r of found) items.set(String(r.w_id), r);
  }
  return rows.map((r) => {
    const item = r.w_id === null || r.w_id === undefined ? items.get(String(r.s_work_item_id)) : r;
    if (!item) throw new Error(`claimed step ${String(r.s_id)} has no work item ${String(r.s_work_item_id)}`);
    return { step: stepFromRow(r, 's_'), item: itemFromRow(item, 'w_') };
  });
}

/** The step and its item, the step row locked for the rest of the transaction. */
export async function lockStep(
  store: Store,
  tx: Database,
  workItemId: string,
  stepId: string,
): Promise<StepWithItem | undefined> {
  const rows = await store.rows<Row>(
    sql`select s.*, ${sql.raw(ITEM_COLUMNS)} from steps s join work_items w on w.id = s.work_item_id
      where s.id = ${stepId}::uuid and s.work_item_id = ${workItemId}::uuid for update of s`,
    tx,
  );
  return withItem(rows)[0];
}

export async function extendLease(
  store: Store,
  tx: Database,
  stepId: string,
  expiresAt: Date,
): Promise<void> {
  await store.rows(
    sql`update steps set lease_expires_at = ${iso(expiresAt)}::timestamptz where id = ${stepId}::uuid`,
    tx,
  );
}

/** Closes a held step (completed, failed, handed off). */
export async function finishStep(
  store: Store,
  tx: Database,
  input: {
    stepId: string;
    state: 'completed' | 'failed' | 'handed_off';
    now: Date;
    result?: unknown;
    error?: unknown;
  },
): Promise<void> {
  await store.rows(
    sql`update steps set state = ${input.state}, finished_at = ${iso(input.now)}::timestamptz,
      lease_token = null, lease_expires_at = null,
      result = ${json(input.result)}::jsonb, error = coalesce(${json(input.error)}::jsonb, error)
      where id = ${input.stepId}::uuid`,
    tx,
  );
}

/** Returns a step to its queue with the next attempt (lease expired, retryable failure). */
export async function requeueSteps(
  store: Store,
  tx: Database,
  list: readonly {
    stepId: string;
    queuedAt: Date;
    rankAt: Date;
    error: unknown;
    /** False when the step never reached its node (an undelivered push): the attempt is not used up. */
    spendAttempt?: boolean;
  }[],
): Promise<void> {
  if (list.length === 0) return;
  const data = JSON.stringify(
    list.map((s) => ({
      id: s.stepId,
      queued_at: iso(s.queuedAt),
      rank_at: iso(s.rankAt),
      error: s.error ?? null,
      spend: s.spendAttempt !== false,
    })),
  );
  await store.rows(
    sql`update steps s set state = 'queued', attempt = s.attempt + (case when u.spend then 1 else 0 end),
      node_id = null, lease_token = null, lease_expires_at = null, claimed_at = null, queued_at = u.queued_at,
      rank_at = u.rank_at, error = coalesce(u.error, s.error)
      from jsonb_to_recordset(${data}::jsonb) as u(id uuid, queued_at timestamptz, rank_at timestamptz, error jsonb,
        spend boolean)
      where s.id = u.id`,
    tx,
  );
}

export async function updateItem(
  store: Store,
  tx: Database,
  input: { id: string; state: 'done' | 'failed'; now: Date; result?: unknown },
): Promise<void> {
  await store.rows(
    sql`update work_items set state = ${input.state}, updated_at = ${iso(input.now)}::timestamptz,
      result = coalesce(${json(input.result)}::jsonb, result) where id = ${input.id}::uuid and state = 'open'`,
    tx,
  );
}

export async function nextSeq(store: Store, tx: Database, workItemId: string): Promise<number> {
  const [row] = await store.rows<{ n: number }>(
    sql`select coalesce(max(seq), 0)::int + 1 as n from steps where work_item_id = ${workItemId}::uuid`,
    tx,
  );
  return Number(row?.n ?? 1);
}

/** Claimed steps whose lease ran out, locked (SKIP LOCKED: a completion in flight wins). */
export async function lockExpiredLeases(
  store: Store,
  tx: Database,
  now: Date,
  limit: number,
): Promise<StepWithItem[]> {
  const rows = await store.rows<Row>(
    sql`select s.*, ${sql.raw(ITEM_COLUMNS)} from steps s join work_items w on w.id = s.work_item_id
      where s.state = 'claimed' and s.lease_expires_at <= ${iso(now)}::timestamptz
      order by s.lease_expires_at limit ${limit}::int for update of s skip locked`,
    tx,
  );
  return withItem(rows);
}

/** Queued steps of some capabilities with their items, keyset-paged by step id. */
export async function findQueuedSteps(
  store: Store,
  db: Database,
  q: {
    capabilities: readonly string[];
    afterId?: string | undefined;
    limit: number;
    maxQueuedAt?: Date;
    belowTier?: number;
  },
): Promise<StepWithItem[]> {
  const rows = await store.rows<Row>(
    sql`select s.*, ${sql.raw(ITEM_COLUMNS)} from steps s join work_items w on w.id = s.work_item_id
      where s.state = 'queued' and s.capability = any(${pgArray(q.capabilities)}::text[])
      ${q.afterId ? sql`and s.id > ${q.afterId}::uuid` : sql``}
      ${q.maxQueuedAt ? sql`and s.queued_at <= ${iso(q.maxQueuedAt)}::timestamptz` : sql``}
      ${q.belowTier !== undefined ? sql`and s.tier < ${q.belowTier}::int` : sql``}
      order by s.id limit ${q.limit}::int`,
    db,
  );
  return withItem(rows);
}

export interface RoutingUpdate {
  stepId: string;
  eligibleNodes: string[];
  exclusions: Exclusion[];
  routing: StepRouting;
  tier: number;
}

/** Writes new routing for queued steps (steps claimed meanwhile are left alone); returns the ids updated. */
export async function updateRouting(
  store: Store,
  tx: Database,
  list: readonly RoutingUpdate[],
): Promise<string[]> {
  if (list.length === 0) return [];
  const data = JSON.stringify(
    list.map((u) => ({
      id: u.stepId,
      eligible: u.eligibleNodes,
      exclusions: u.exclusions,
      routing: u.routing,
      tier: u.tier,
    })),
  );
  const rows = await store.rows<{ id: string }>(
    sql`update steps s set eligible_nodes = array(select jsonb_array_elements_text(u.eligible)),
      exclusions = u.exclusions, routing = u.routing, tier = u.tier
      from jsonb_to_recordset(${data}::jsonb) as u(id uuid, eligible jsonb, exclusions jsonb, routing text, tier int)
      where s.id = u.id and s.state = 'queued'
      returning s.id`,
    tx,
  );
  return rows.map((r) => String(r.id));
}

/** Resolves the unresolved (open or acknowledged) escalations of a kind for these steps (a node became able to take them). */
export async function resolveEscalations(
  store: Store,
  tx: Database,
  input: { stepIds: readonly string[]; kind: string; now: Date; resolution: unknown },
): Promise<{ id: string; work_item_id: string; step_id: string }[]> {
  if (input.stepIds.length === 0) return [];
  return store.rows(
    sql`update escalations set state = 'resolved', resolved_at = ${iso(input.now)}::timestamptz,
      updated_at = ${iso(input.now)}::timestamptz, resolution = ${JSON.stringify(input.resolution)}::jsonb
      where step_id = any(${pgArray(input.stepIds)}::uuid[]) and kind = ${input.kind} and state <> 'resolved'
      returning id, work_item_id, step_id`,
    tx,
  );
}

/** Steps a node holds now (claimed, lease not yet swept). */
export async function countHeld(store: Store, db: Database): Promise<Map<string, number>> {
  const rows = await store.rows<{ node_id: string; n: number }>(
    sql`select node_id, count(*)::int as n from steps where state = 'claimed' group by node_id`,
    db,
  );
  return new Map(rows.map((r) => [r.node_id, Number(r.n)]));
}

export async function findHeldSteps(store: Store, db: Database, nodeId: string): Promise<StepWithItem[]> {
  const rows = await store.rows<Row>(
    sql`select s.*, ${sql.raw(ITEM_COLUMNS)} from steps s join work_items w on w.id = s.work_item_id
      where s.state = 'claimed' and s.node_id = ${nodeId}`,
    db,
  );
  return withItem(rows);
}

export interface QueueStats {
  capability: string;
  depth: number;
  unroutable: number;
  oldestQueuedAt: Date | null;
}

export async function queueStats(store: Store, db: Database): Promise<QueueStats[]> {
  const rows = await store.rows<Row>(
    sql`select capability, count(*) filter (where routing = 'routable')::int as depth,
      count(*) filter (where routing = 'unroutable')::int as unroutable, min(queued_at) as oldest
      from steps where state = 'queued' group by capability`,
    db,
  );
  return rows.map((r) => ({
    capability: String(r.capability),
    depth: Number(r.depth),
    unroutable: Number(r.unroutable),
    oldestQueuedAt: toDateOrNull(r.oldest),
  }));
}

/** Queued, routable steps each node is eligible for. */
export async function eligibleDepths(store: Store, db: Database): Promise<Map<string, number>> {
  const rows = await store.rows<{ node_id: string; n: number }>(
    sql`select n as node_id, count(*)::int as n from steps, unnest(eligible_nodes) as n
      where state = 'queued' and routing = 'routable' group by n`,
    db,
  );
  return new Map(rows.map((r) => [r.node_id, Number(r.n)]));
}

/** Takes the sweeper's lock for this transaction; false when another instance is sweeping. */
export async function trySweepLock(store: Store, tx: Database): Promise<boolean> {
  const [row] = await store.rows<{ ok: boolean }>(
    sql`select pg_try_advisory_xact_lock(${SWEEP_LOCK_KEY}::bigint) as ok`,
    tx,
  );
  return row?.ok === true;
}

export interface EscalationRow {
  id: string;
  kind: string;
  severity: string;
  stepId: string | null;
  reason: string;
  state: string;
  details: unknown;
}

/** The escalations of a work item, oldest first. */
export async function findEscalations(
  store: Store,
  db: Database,
  workItemId: string,
): Promise<EscalationRow[]> {
  const rows = await store.rows<Row>(
    sql`select * from escalations where work_item_id = ${workItemId}::uuid order by created_at, id`,
    db,
  );
  return rows.map((r) => ({
    id: String(r.id),
    kind: String(r.kind),
    severity: String(r.severity),
    stepId: (r.step_id as string | null) ?? null,
    reason: String(r.reason),
    state: String(r.state),
    details: typeof r.details === 'string' ? JSON.parse(r.details) : r.details,
  }));
}
