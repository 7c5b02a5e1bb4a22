// API keys: stored as SHA-256 hashes; the secret itself is shown once, at creation.
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { apiKeys } from './schema/index.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: string;
  nodeId: string | null;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export async function insertApiKey(db: Database, record: ApiKeyRecord & { hash: string }): Promise<void> {
  await db.insert(apiKeys).values(record);
}

export async function findApiKeyByHash(db: Database, hash: string): Promise<ApiKeyRecord | undefined> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.hash, hash));
  if (!row) return undefined;
  const { hash: _hash, ...rest } = row;
  return rest;
}

/** Marks a key revoked; returns false when no such live key exists. */
export async function revokeApiKey(db: Database, id: string, now: Date): Promise<ApiKeyRecord | undefined> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  const row = rows[0];
  if (!row) return undefined;
  const { hash: _hash, ...rest } = row;
  return rest;
}

export async function listApiKeys(db: Database): Promise<ApiKeyRecord[]> {
  const rows = await db.select().from(apiKeys).orderBy(apiKeys.createdAt);
  return rows.map(({ hash: _hash, ...rest }) => rest);
}

export async function countLiveKeys(db: Database, role: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(apiKeys)
    .where(and(eq(apiKeys.role, role), isNull(apiKeys.revokedAt)));
  return row?.n ?? 0;
}
