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
