// Queries of the network registry: capabilities and nodes as kept in the database, and node health
// (outcome counts per window, circuit-breaker state).
import { sql } from 'drizzle-orm';
import type { Database, Store } from './database.js';
import { type Row, toDateOrNull, toJson } from './rows.js';

const iso = (d: Date) => d.toISOString();

export interface CapabilityRow {
  id: string;
  description: string;
  inputSchema: unknown;
  maxAttempts: number;
  leaseSeconds: number;
  fallbacks: unknown;
}

export interface NodeRow {
  id: string;
  name: string;
  kind: string;
  capabilities: unknown;
  capacity: number;
  mode: string;
  availability: string;
  endpoint: string | null;
  mcp: unknown;
  timeoutSeconds: number;
  attributes: unknown;
  trippedUntil: Date | null;
}

export async function upsertCapabilities(
  store: Store,
  db: Database,
  list: readonly CapabilityRow[],
  now: Date,
): Promise<void> {
  for (const c of list) {
    await store.rows(
      sql`insert into capabilities (id, description, input_schema, max_attempts, lease_seconds, fallbacks, updated_at)
        values (${c.id}, ${c.description}, ${c.inputSchema === undefined ? null : JSON.stringify(c.inputSchema)}::jsonb,
          ${c.maxAttempts}::int, ${c.leaseSeconds}::int, ${JSON.stringify(c.fallbacks)}::jsonb, ${iso(now)}::timestamptz)
        on conflict (id) do update set description = excluded.description, input_schema = excluded.input_schema,
          max_attempts = excluded.max_attempts, lease_seconds = excluded.lease_seconds,
          fallbacks = excluded.fallbacks, updated_at = excluded.updated_at`,
      db,
    );
  }
}

/**
 * Writes a node's definition. `keepAvailability`: an existing row keeps its availability (it is
 * operational state set through the API, not configuration), used when loading the network file.
 */
export async function upsertNode(
  store: Store,
  db: Database,
  n: Omit<NodeRow, 'trippedUntil'>,
  now: Date,
  options: { keepAvailability: boolean },
): Promise<void> {
  await store.rows(
    sql`insert into nodes (id, name, kind, capabilities, capacity, mode, availability, endpoint, mcp, timeout_seconds, attributes, created_at, updated_at)
      values (${n.id}, ${n.name}, ${n.kind}, ${JSON.stringify(n.capabilities)}::jsonb, ${n.capacity}::int, ${n.mode},
        ${n.availability}, ${n.endpoint}, ${n.mcp === undefined ? null : JSON.stringify(n.mcp)}::jsonb, ${n.timeoutSeconds}::int,
        ${JSON.stringify(n.attributes)}::jsonb, ${iso(now)}::timestamptz, ${iso(now)}::timestamptz)
      on conflict (id) do update set name = excluded.name, kind = excluded.kind, capabilities = excluded.capabilities,
        capacity = excluded.capacity, mode = excluded.mode,
        availability = ${options.keepAvailability ? sql`nodes.availability` : sql`excluded.availability`},
        endpoint = excluded.endpoint, mcp = excluded.mcp, timeout_seconds = excluded.timeout_seconds,
        attributes = excluded.attributes, updated_at = excluded.updated_at`,
    db,
  );
}

export async function setNodeAvailability(
  store: Store,
  db: Database,
  id: string,
  availability: string,
  now: Date,
): Promise<boolean> {
  const rows = await store.rows(
    sql`update nodes set availability = ${availability}, updated_at = ${iso(now)}::timestamptz where id = ${id} returning id`,
    db,
  );
  return rows.length > 0;
}

export async function deleteNode(store: Store, db: Database, id: string): Promise<boolean> {
  const rows = await store.rows(sql`delete from nodes where id = ${id} returning id`, db);
  await store.rows(sql`delete from node_health where node_id = ${id}`, db);
  return rows.length > 0;
}

export async function loadNetworkRows(
  store: Store,
  db: Database,
): Promise<{ capabilities: CapabilityRow[]; nodes: NodeRow[] }> {
  const caps = await store.rows<Row>(sql`select * from capabilities order by id`, db);
  const nodes = await store.rows<Row>(
    sql`select n.*, h.tripped_until from nodes n left join node_health h on h.node_id = n.id order by n.id`,
    db,
  );
  return {
    capabilities: caps.map((r) => ({
      id: String(r.id),
      description: String(r.description ?? ''),
      inputSchema: r.input_schema === null ? undefined : toJson(r.input_schema),
      maxAttempts: Number(r.max_attempts),
      leaseSeconds: Number(r.lease_seconds),
      fallbacks: toJson(r.fallbacks),
    })),
    nodes: nodes.map((r) => ({
      id: String(r.id),
      name: String(r.name),
      kind: String(r.kind),
      capabilities: toJson(r.capabilities),
      capacity: Number(r.capacity),
      mode: String(r.mode),
      availability: String(r.availability),
      endpoint: (r.endpoint as string | null) ?? null,
      mcp: r.mcp === null ? undefined : toJson(r.mcp),
      timeoutSeconds: Number(r.timeout_seconds),
      attributes: toJson(r.attributes),
      trippedUntil: toDateOrNull(r.tripped_until),
    })),
  };
}

export interface OutcomeCounts {
  successes: number;
  failures: number;
}

/** Adds outcomes to the node's current window (a new window starts when the old one is over). */
export async function recordOutcomes(
  store: Store,
  db: Database,
  nodeId: string,
  counts: OutcomeCounts,
  now: Date,
  windowSeconds: number,
): Promise<void> {
  const start = iso(new Date(now.getTime() - windowSeconds * 1000));
  await store.rows(
    sql`insert into node_health (node_id, window_started_at, successes, failures, updated_at)
      values (${nodeId}, ${iso(now)}::timestamptz, ${counts.successes}::int, ${counts.failures}::int, ${iso(now)}::timestamptz)
      on conflict (node_id) do update set
        successes = case when node_health.window_started_at <= ${start}::timestamptz then excluded.successes
          else node_health.successes + excluded.successes end,
        failures = case when node_health.window_started_at <= ${start}::timestamptz then excluded.failures
          else node_health.failures + excluded.failures end,
        window_started_at = case when node_health.window_started_at <= ${start}::timestamptz then excluded.window_started_at
          else node_health.window_started_at end,
        updated_at = excluded.updated_at`,
    db,
  );
}

export interface HealthRow {
  nodeId: string;
  windowStartedAt: Date;
  successes: number;
  failures: number;
  trippedUntil: Date | null;
}

export async function listHealth(store: Store, db: Database): Promise<HealthRow[]> {
  const rows = await store.rows<Row>(sql`select * from node_health`, db);
  return rows.map((r) => ({
    nodeId: String(r.node_id),
    windowStartedAt: toDateOrNull(r.window_started_at) ?? new Date(0),
    successes: Number(r.successes),
    failures: Number(r.failures),
    trippedUntil: toDateOrNull(r.tripped_until),
  }));
}

/** Opens (until a time) or closes (null) a node's circuit; a trip also starts a fresh window. */
export async function setTripped(
  store: Store,
  db: Database,
  nodeId: string,
  until: Date | null,
  now: Date,
): Promise<void> {
  await store.rows(
    sql`update node_health set tripped_until = ${until ? iso(until) : null}::timestamptz, updated_at = ${iso(now)}::timestamptz
      ${until ? sql`, successes = 0, failures = 0, window_started_at = ${iso(now)}::timestamptz` : sql``}
      where node_id = ${nodeId}`,
    db,
  );
}
