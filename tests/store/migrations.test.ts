// Migrations run at start, again and again, and from several instances at once, and always end with the
// committed schema exactly once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openStore, type Store } from '../../store/database.js';
import { MIGRATIONS_FOLDER, migrateDatabase } from '../../store/migrate.js';
import { createTestDatabase, onPostgres, serverUrl, type TestDatabase } from '../support/database.js';
import { databaseUrlFor } from '../support/global-setup.js';

async function journalLength(): Promise<number> {
  const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function appliedMigrations(store: Store): Promise<number> {
  const [row] = await store.rows<{ n: number }>(
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return row?.n ?? 0;
}

async function tables(store: Store): Promise<string[]> {
  const rows = await store.rows<{ table_name: string }>(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('leave the foundation tables and a record of every committed migration', async () => {
    expect(await tables(db.store)).toEqual(
      expect.arrayContaining(['api_keys', 'events', 'idempotency_keys', 'steps', 'work_items']),
    );
    expect(await appliedMigrations(db.store)).toBe(await journalLength());
  });

  it('are idempotent: running them again changes nothing and keeps the data', async () => {
    await db.store.rows(
      sql`insert into api_keys (id, name, role, hash, prefix, created_at)
          values ('01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d', 'kept', 'admin', 'h', 'fm_', now())`,
    );
    const before = await tables(db.store);
    await migrateDatabase(db.store, db.url);
    await migrateDatabase(db.store, db.url);
    expect(await tables(db.store)).toEqual(before);
    expect(await appliedMigrations(db.store)).toBe(await journalLength());
    const rows = await db.store.rows<{ name: string }>(sql`select name from api_keys`);
    expect(rows.map((r) => r.name)).toEqual(['kept']);
  });

  it('have the queue tables vacuumed and analyzed after a fiftieth of their rows changed', async () => {
    const rows = await db.store.rows<{ relname: string; reloptions: string[] | string | null }>(
      sql`select relname, reloptions from pg_class
        where relname in ('steps', 'work_items') and relkind = 'r' order by relname`,
    );
    const expected = [
      'autovacuum_vacuum_scale_factor=0.02',
      'autovacuum_vacuum_threshold=1000',
      'autovacuum_analyze_scale_factor=0.02',
      'autovacuum_analyze_threshold=1000',
    ];
    expect(rows.map((r) => r.relname)).toEqual(['steps', 'work_items']);
    for (const r of rows) {
      // Arrays come back parsed (postgres.js) or as their text form (PGlite through drizzle).
      const options = Array.isArray(r.reloptions) ? r.reloptions : String(r.reloptions ?? '');
      for (const option of expected) expect(options).toContain(option);
    }
  });
});

describe.skipIf(!onPostgres)('several instances starting at once on PostgreSQL', () => {
  const base = serverUrl ?? '';
  let url: string;
  let name: string;
  beforeAll(async () => {
    name = `${inject('runPrefix')}_race_${process.pid}`;
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database "${name}"`);
    } finally {
      await admin.end();
    }
    url = databaseUrlFor(base, name);
  });
  afterAll(async () => {
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await admin.end();
    }
  });

  it('migrate a fresh database exactly once under the advisory lock', async () => {
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openStore({ databaseUrl: url, poolSize: 2 })),
    );
    try {
      for (const store of stores) {
        expect(await appliedMigrations(store)).toBe(await journalLength());
        expect(await tables(store)).toEqual(expect.arrayContaining(['work_items', 'steps', 'events']));
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
