// One small interface over the two drivers: PGlite (embedded, the default) and postgres.js (DATABASE_URL).
// Both give the same drizzle database and the same raw-SQL helpers, so every query runs on both.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres, PostgresJsSession } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { migrateDatabase } from './migrate.js';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath. Transactions have the same type. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export type DriverKind = 'pglite' | 'postgres';

export interface Store {
  readonly kind: DriverKind;
  readonly db: Database;
  /**
   * Runs raw SQL and returns its rows, normalized across drivers. With `prepare` (postgres.js), the
   * statement is prepared on its connection and its plan kept: for large statements run often, whose
   * planning would otherwise cost milliseconds every time.
   */
  rows<T>(query: SQL, on?: Database, options?: RowsOptions): Promise<T[]>;
  /**
   * Runs SQL text with `$1…$n` parameters straight through the driver, skipping drizzle's SQL building
   * (hundreds of microseconds for a large statement). For hot paths with hand-written SQL.
   */
  query<T>(text: string, params: readonly unknown[]): Promise<T[]>;
  /** Runs `fn` in a transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel (postgres.js only; PGlite is one process, so callers wake locally).
   * Resolves to an unsubscribe function.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface RowsOptions {
  prepare?: boolean;
}

export interface OpenStoreOptions {
  /** `postgres://…`; when absent, PGlite is used. */
  databaseUrl?: string | undefined;
  /** PGlite data folder; `memory://` (or undefined) keeps everything in memory. */
  dataDir?: string | undefined;
  /** postgres.js pool size. */
  poolSize?: number | undefined;
  /** Run migrations on open (default true). */
  migrate?: boolean | undefined;
  /**
   * PGlite only: start from this data-folder dump (see `dumpMigratedPglite`) instead of an empty cluster.
   * Loading a dump skips initdb and the migrations, so tests get a fresh database in a fraction of the time.
   */
  pgliteDump?: Blob | undefined;
}

function normalizeRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? (rows as T[]) : [];
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store = options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolSize ?? 10)
    : await openPglite(options.dataDir, options.pgliteDump);
  if (options.migrate !== false) {
    try {
      await migrateDatabase(store, options.databaseUrl);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

/** A migrated, empty in-memory PGlite cluster as a tarball, for `openStore({ pgliteDump })`. */
export async function dumpMigratedPglite(): Promise<Blob> {
  const client = new PGlite();
  try {
    await client.waitReady;
    await migrateDatabase(pgliteStore(client), undefined);
    return await client.dumpDataDir('none');
  } finally {
    await client.close();
  }
}

async function openPglite(dataDir: string | undefined, dump: Blob | undefined): Promise<Store> {
  const inMemory = !dataDir || dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite({
    ...(inMemory ? {} : { dataDir }),
    ...(dump ? { loadDataDir: dump } : {}),
  });
  await client.waitReady;
  return pgliteStore(client);
}

function pgliteStore(client: PGlite): Store {
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    kind: 'pglite',
    db,
    async rows<T>(query: SQL, on: Database = db) {
      return normalizeRows<T>(await on.execute(query));
    },
    async query<T>(text: string, params: readonly unknown[]) {
      return (await client.query<T>(text, [...params])).rows;
    },
    transaction: (fn) => db.transaction(fn),
    async listen() {
      return async () => {};
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

/** Turns drizzle SQL into text and parameters for statements sent straight to the driver. */
const dialect = new PgDialect();

function openPostgres(url: string, poolSize: number): Store {
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connection: { application_name: 'flowmesh' },
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Database;
  return {
    kind: 'postgres',
    db,
    async rows<T>(query: SQL, on: Database = db, options: RowsOptions = {}) {
      if (options.prepare) {
        // The connection `on` runs on: the pool's, or the transaction's (drizzle's session holds it).
        const session = on._.session;
        const target = session instanceof PostgresJsSession ? (session.client as postgres.Sql) : client;
        const { sql: text, params } = dialect.sqlToQuery(query);
        return (await target.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
      }
      return normalizeRows<T>(await on.execute(query));
    },
    async query<T>(text: string, params: readonly unknown[]) {
      return (await client.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
    },
    transaction: (fn) => db.transaction(fn),
    async listen(channel, onNotify) {
      const sub = await client.listen(channel, onNotify);
      return () => sub.unlisten();
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
