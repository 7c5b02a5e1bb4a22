// Prepared statements (`rows` with `prepare`) run where the caller runs them: in its transaction when
// it passes one, so they see its writes and roll back with it; on the pool otherwise.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('prepared rows', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.store.rows(sql`create table prepared_probe (id int primary key, note text not null)`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const count = async (): Promise<number> => {
    const [row] = await db.store.rows<{ n: number }>(sql`select count(*)::int as n from prepared_probe`);
    return row?.n ?? -1;
  };

  it('returns rows with parameters, the same on every run of the statement', async () => {
    for (let i = 1; i <= 8; i++) {
      const rows = await db.store.rows<{ id: number; note: string }>(
        sql`insert into prepared_probe (id, note) values (${i}, ${`n${i}`}) returning id, note`,
        undefined,
        { prepare: true },
      );
      expect(rows).toEqual([{ id: i, note: `n${i}` }]);
    }
    expect(await count()).toBe(8);
  });

  it('runs inside the transaction it is given: sees its writes and rolls back with it', async () => {
    const before = await count();
    await expect(
      db.store.transaction(async (tx) => {
        await db.store.rows(sql`insert into prepared_probe (id, note) values (100, 'in tx')`, tx);
        const seen = await db.store.rows<{ note: string }>(
          sql`select note from prepared_probe where id = ${100}`,
          tx,
          { prepare: true },
        );
        expect(seen).toEqual([{ note: 'in tx' }]);
        await db.store.rows(sql`insert into prepared_probe (id, note) values (${101}, ${'also in tx'})`, tx, {
          prepare: true,
        });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await count()).toBe(before);
  });
});
