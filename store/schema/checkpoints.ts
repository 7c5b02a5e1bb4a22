// Tables of the LangGraph checkpointer: one row per checkpoint of a thread (a value stream's item, or
// an agent run) and the pending writes of its tasks. Values are the serializer's bytes, kept opaque;
// metadata is jsonb so `list` can filter on it.
import { sql } from 'drizzle-orm';
import {
  customType,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

export const checkpoints = pgTable(
  'checkpoints',
  {
    threadId: text('thread_id').notNull(),
    checkpointNs: text('checkpoint_ns').notNull().default(''),
    checkpointId: text('checkpoint_id').notNull(),
    parentCheckpointId: text('parent_checkpoint_id'),
    /** The serializer's type tag (`json`, `bytes`…). */
    type: text('type').notNull(),
    checkpoint: bytea('checkpoint').notNull(),
    metadata: jsonb('metadata').notNull().default(sql`'{}'::jsonb`),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.threadId, t.checkpointNs, t.checkpointId] })],
);

export const checkpointWrites = pgTable(
  'checkpoint_writes',
  {
    threadId: text('thread_id').notNull(),
    checkpointNs: text('checkpoint_ns').notNull().default(''),
    checkpointId: text('checkpoint_id').notNull(),
    taskId: text('task_id').notNull(),
    /** Position of the write in its task; special writes (errors, interrupts) use negative indexes. */
    idx: integer('idx').notNull(),
    channel: text('channel').notNull(),
    type: text('type').notNull(),
    value: bytea('value').notNull(),
    /** The task's path in the graph, the first part of the order LangGraph replays writes in. */
    taskPath: text('task_path').notNull().default(''),
  },
  (t) => [primaryKey({ columns: [t.threadId, t.checkpointNs, t.checkpointId, t.taskId, t.idx] })],
);

/**
 * Channel values, stored once per (channel, version) instead of in every checkpoint: a checkpoint names
 * the versions it sees, so a long stream does not copy unchanged state at every step.
 */
export const checkpointBlobs = pgTable(
  'checkpoint_blobs',
  {
    threadId: text('thread_id').notNull(),
    checkpointNs: text('checkpoint_ns').notNull().default(''),
    channel: text('channel').notNull(),
    version: text('version').notNull(),
    /** The serializer's type tag, or `empty` for a channel that has no value at this version. */
    type: text('type').notNull(),
    blob: bytea('blob'),
  },
  (t) => [primaryKey({ columns: [t.threadId, t.checkpointNs, t.channel, t.version] })],
);

/**
 * Which router step carries which step of an item's value stream: `<stream step>#<visit>` → steps.id.
 * Routing a stream step twice (a restart between routing and the checkpoint) finds the row and stops.
 */
export const streamSteps = pgTable(
  'stream_steps',
  {
    workItemId: uuid('work_item_id').notNull(),
    stepKey: text('step_key').notNull(),
    stepId: uuid('step_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workItemId, t.stepKey] }),
    uniqueIndex('stream_steps_step_idx').on(t.stepId),
  ],
);
