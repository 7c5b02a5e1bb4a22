// A fresh database for one test file: in-memory PGlite, or a copy of the run's PostgreSQL template.
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openStore, type Store } from '../../store/database.js';
import { databaseUrlFor } from './global-setup.js';

export const onPostgres = process.env.FLOWMESH_TEST_DB === 'postgres';
/** The server the run's test databases live on (DATABASE_URL), for tests that make databases of their own. */
export const serverUrl: string | undefined = process.env.DATABASE_URL;
let counter = 0;
let pgliteDump: Promise<Blob | undefined> | undefined;

/** The run's migrated PGlite dump (see global-setup), read once per test process. */
function loadPgliteDump(): Promise<Blob | undefined> {
  pgliteDump ??= (async () => {
    const file = inject('pgliteDump');
    return file ? new Blob([await readFile(file)]) : undefined;
  })();
  return pgliteDump;
}

export interface TestDatabase {
  store: Store;
  url: string | undefined;
  /** Opens another store on the same database (a second instance). */
  openAnother(options?: { poolSize?: number }): Promise<Store>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!onPostgres) {
    const dump = await loadPgliteDump();
    const store = await openStore({ dataDir: 'memory://', pgliteDump: dump, migrate: dump === undefined });
    return {
      store,
      url: undefined,
      openAnother: () => {
        throw new Error('PGlite is a single connection: a second instance needs PostgreSQL');
      },
      drop: () => store.close(),
    };
  }
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('FLOWMESH_TEST_DB=postgres needs DATABASE_URL');
  const name = `${inject('runPrefix')}_t${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${inject('templateDatabase')}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrlFor(base, name);
  const others: Store[] = [];
  const store = await openStore({ databaseUrl: url, poolSize: 10, migrate: false });
  return {
    store,
    url,
    async openAnother(options = {}) {
      const s = await openStore({ databaseUrl: url, poolSize: options.poolSize ?? 10, migrate: false });
      others.push(s);
      return s;
    },
    async drop() {
      await Promise.all([store, ...others].map((s) => s.close()));
      const adm = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await adm.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await adm.end();
      }
    },
  };
}
