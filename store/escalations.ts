// Queries of the escalation queue: list by severity then age, lock one for an action, update it, and
// open escalations for detectors without duplicating one that is not resolved yet.
import { type SQL, sql } from 'drizzle-orm';
import type { EscalationRecord, EscalationSeverity, EscalationState } from '../work/escalation.js';
import type { Database, Store } from './database.js';
import { ESCALATION_INSERT_COLUMNS, escalationInsertValues } from './router.js';

interface EscalationRow {
  id: string;
  kind: string;
  severity: string;
  work_item_id: string;
  step_id: string | null;
  reason: string;
  state: string;
  owner: string | null;
  details: unknown;
  resolution: unknown;
  created_at: Date | string;
  updated_at: Date | string;
  resolved_at: Date | string | null;
}

const date = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const obj = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

function toRecord(r: EscalationRow): EscalationRecord {
  return {
    id: r.id,
    kind: r.kind,
    severity: r.severity as EscalationSeverity,
    workItemId: r.work_item_id,
    stepId: r.step_id,
    reason: r.reason,
    state: r.state as EscalationState,
    owner: r.owner,
    details: (obj(r.details) ?? {}) as EscalationRecord['details'],
    resolution: (obj(r.resolution) ?? null) as EscalationRecord['resolution'],
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    resolvedAt: r.resolved_at === null ? null : date(r.resolved_at),
  };
}

const SEVERITY_ORDER = sql.raw(
  "case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end",
);

export interface EscalationQuery {
  states: readonly EscalationState[];
  kinds: readonly string[];
  severities: readonly string[];
  workItemId?: string | undefined;
  limit: number;
}

const list = (values: readonly string[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

/** Most severe first, then oldest first. */
export async function listEscalations(store: Store, q: EscalationQuery): Promise<EscalationRecord[]> {
  const where: SQL[] = [sql`true`];
  if (q.states.length) where.push(sql`state in (${list(q.states)})`);
  if (q.kinds.length) where.push(sql`kind in (${list(q.kinds)})`);
  if (q.severities.length) where.push(sql`severity in (${list(q.severities)})`);
  if (q.workItemId) where.push(sql`work_item_id = ${q.workItemId}::uuid`);
  const rows = await store.rows<EscalationRow>(
    sql`select * from escalations where ${sql.join(where, sql` and `)}
      order by ${SEVERITY_ORDER}, created_at, id limit ${q.limit}::int`,
  );
  return rows.map(toRecord);
}

export async function findEscalation(
  store: Store,
  db: Database,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<EscalationRecord | undefined> {
  const rows = await store.rows<EscalationRow>(
    sql`select * from escalations where id = ${id}::uuid ${options.forUpdate ? sql`for update` : sql``}`,
    db,
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export async function updateEscalation(
  store: Store,
  tx: Database,
  id: string,
  change: { state?: EscalationState; owner?: string | null; resolution?: unknown; now: Date },
): Promise<void> {
  const sets: SQL[] = [sql`updated_at = ${change.now.toISOString()}::timestamptz`];
  if (change.state) sets.push(sql`state = ${change.state}`);
  if (change.owner !== undefined) sets.push(sql`owner = ${change.owner}`);
  if (change.resolution !== undefined) {
    sets.push(sql`resolution = ${JSON.stringify(change.resolution)}::jsonb`);
    sets.push(sql`resolved_at = ${change.now.toISOString()}::timestamptz`);
  }
  await store.rows(sql`update escalations set ${sql.join(sets, sql`, `)} where id = ${id}::uuid`, tx);
}

/**
 * Opens escalations unless one of the same kind for the same step (or item, when there is no step)
 * is still unresolved — open or acknowledged. Returns the ones written.
 */
export async function openEscalations(
  store: Store,
  tx: Database,
  candidates: readonly EscalationRecord[],
): Promise<EscalationRecord[]> {
  const written: EscalationRecord[] = [];
  for (const e of candidates) {
    const rows = await store.rows<{ id: string }>(
      sql`insert into escalations ${ESCALATION_INSERT_COLUMNS}
        select * from (values ${escalationInsertValues(e)}) as v
        where not exists (
          select 1 from escalations x where x.kind = ${e.kind} and x.state <> 'resolved'
            and ${e.stepId === null ? sql`x.work_item_id = ${e.workItemId}::uuid and x.step_id is null` : sql`x.step_id = ${e.stepId}::uuid`}
        )
        on conflict (step_id, kind) where state = 'open' do nothing
        returning id`,
      tx,
    );
    if (rows.length > 0) written.push(e);
  }
  return written;
}

/** An open item with a deadline, and its current open step (the latest queued or claimed one). */
export interface DueItemRow {
  itemId: string;
  kind: string;
  dueAt: Date;
  createdAt: Date;
  traceparent: string;
  stepId: string;
  seq: number;
  capability: string;
  stepState: string;
  attempt: number;
  nodeId: string | null;
  queuedAt: Date;
  claimedAt: Date | null;
  leaseExpiresAt: Date | null;
}

interface OpenStepSqlRow {
  item_id: string;
  kind: string;
  due_at: Date | string | null;
  created_at: Date | string;
  traceparent: string;
  step_id: string;
  seq: number;
  capability: string;
  step_state: string;
  attempt: number;
  node_id: string | null;
  queued_at: Date | string;
  claimed_at: Date | string | null;
  lease_expires_at: Date | string | null;
}

function openStepRow(r: OpenStepSqlRow): DueItemRow {
  return {
    itemId: r.item_id,
    kind: r.kind,
    dueAt: r.due_at === null ? new Date(Number.NaN) : date(r.due_at),
    createdAt: date(r.created_at),
    traceparent: r.traceparent,
    stepId: r.step_id,
    seq: Number(r.seq),
    capability: r.capability,
    stepState: r.step_state,
    attempt: Number(r.attempt),
    nodeId: r.node_id,
    queuedAt: date(r.queued_at),
    claimedAt: r.claimed_at === null ? null : date(r.claimed_at),
    leaseExpiresAt: r.lease_expires_at === null ? null : date(r.lease_expires_at),
  };
}

const OPEN_STEP_COLUMNS = sql.raw(`w.id as item_id, w.kind, w.due_at, w.created_at, w.traceparent,
  s.id as step_id, s.seq, s.capability, s.state as step_state, s.attempt, s.node_id, s.queued_at,
  s.claimed_at, s.lease_expires_at`);

/** Open items that have a deadline, each with its current open step. */
export async function findOpenItemsWithDeadline(
  store: Store,
  db: Database,
  limit: number,
): Promise<DueItemRow[]> {
  const rows = await store.rows<OpenStepSqlRow>(
    sql`select ${OPEN_STEP_COLUMNS} from work_items w
      join lateral (select * from steps s where s.work_item_id = w.id and s.state in ('queued', 'claimed')
        order by s.seq desc limit 1) s on true
      where w.state = 'open' and w.due_at is not null
      order by w.due_at limit ${limit}::int`,
    db,
  );
  return rows.map(openStepRow);
}

/** Queued or claimed steps that have waited or been worked on since before `before`. */
export async function findOpenStepsSince(
  store: Store,
  db: Database,
  before: Date,
  limit: number,
): Promise<DueItemRow[]> {
  const rows = await store.rows<OpenStepSqlRow>(
    sql`select ${OPEN_STEP_COLUMNS} from steps s join work_items w on w.id = s.work_item_id
      where s.state in ('queued', 'claimed') and w.state = 'open' and s.queued_at <= ${before.toISOString()}::timestamptz
      order by s.queued_at limit ${limit}::int`,
    db,
  );
  return rows.map(openStepRow);
}

/** Claimed steps, for the node-down detector. */
export async function findClaimedSteps(store: Store, db: Database, limit: number): Promise<DueItemRow[]> {
  const rows = await store.rows<OpenStepSqlRow>(
    sql`select ${OPEN_STEP_COLUMNS} from steps s join work_items w on w.id = s.work_item_id
      where s.state = 'claimed' order by s.claimed_at limit ${limit}::int`,
    db,
  );
  return rows.map(openStepRow);
}
