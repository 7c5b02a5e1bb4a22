// Runs the committed drizzle-kit migrations. On PostgreSQL an advisory lock on a dedicated connection
// makes it safe for several instances to start at once: one migrates, the others wait and find it done.
import { fileURLToPath } from 'node:url';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Store } from './database.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/** Advisory lock key for migrations: an arbitrary constant, "flowmesh" in ASCII folded to 31 bits. */
export const MIGRATION_LOCK_KEY = 0x666c6f77;

export async function migrateDatabase(store: Store, databaseUrl: string | undefined): Promise<void> {
  if (store.kind === 'pglite' || !databaseUrl) {
    // PGlite is a single connection in a single process: nothing can race.
    await migratePglite(store.db as unknown as PgliteDatabase, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migratePostgres(drizzlePostgres(client), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
