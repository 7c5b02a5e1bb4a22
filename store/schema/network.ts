// Tables of the capability network: capabilities, nodes (kept in the database, loaded from the network
// file at start), and each node's health for the circuit breaker.
import { sql } from 'drizzle-orm';
import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const capabilities = pgTable('capabilities', {
  id: text('id').primaryKey(),
  description: text('description').notNull().default(''),
  inputSchema: jsonb('input_schema'),
  maxAttempts: integer('max_attempts').notNull(),
  leaseSeconds: integer('lease_seconds').notNull(),
  /** `[{afterSeconds, nodes}]`: fallback tiers, widest last. */
  fallbacks: jsonb('fallbacks').notNull().default(sql`'[]'::jsonb`),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});

export const nodes = pgTable('nodes', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  kind: text('kind').notNull(),
  /** `[{capability, proficiency}]` */
  capabilities: jsonb('capabilities').notNull(),
  capacity: integer('capacity').notNull(),
  mode: text('mode').notNull(),
  availability: text('availability').notNull(),
  endpoint: text('endpoint'),
  mcp: jsonb('mcp'),
  timeoutSeconds: integer('timeout_seconds').notNull(),
  attributes: jsonb('attributes').notNull().default(sql`'{}'::jsonb`),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/**
 * Outcomes of a node's recent work in a fixed window, and the breaker's state. A separate table so
 * that counting outcomes never locks the node's definition.
 */
export const nodeHealth = pgTable('node_health', {
  nodeId: text('node_id').primaryKey(),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true, mode: 'date' }).notNull(),
  successes: integer('successes').notNull().default(0),
  failures: integer('failures').notNull().default(0),
  /** While in the future, the node is skipped by routing (circuit open). */
  trippedUntil: timestamp('tripped_until', { withTimezone: true, mode: 'date' }),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});
