// Tables of the edges: API keys (stored hashed) and idempotency keys.
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    nodeId: text('node_id'),
    /** SHA-256 of the key, hex. Keys are long random secrets, so a fast hash is enough. */
    hash: text('hash').notNull().unique(),
    /** The first characters of the key, so people can tell keys apart without the secret. */
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('api_keys_role_idx').on(t.role)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** The caller the key belongs to (its API key id); keys never collide across callers. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    /** `in_flight` while the first request runs, `done` once its response is stored. */
    state: text('state').notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);
