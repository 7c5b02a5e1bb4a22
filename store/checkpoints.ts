// Queries of the LangGraph checkpointer (agents/checkpointer.ts). Bytes cross the drivers as base64
// (decode/encode in SQL), so PGlite and postgres.js see the same plain strings. Each operation is one
// statement: a checkpoint step costs a few round trips, not a few per row.
import { type SQL, sql } from 'drizzle-orm';
import type { Store } from './database.js';

export interface CheckpointKey {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
}

export interface CheckpointRow extends CheckpointKey {
  parentCheckpointId: string | null;
  type: string;
  /** The serialized checkpoint. */
  checkpoint: Uint8Array;
  metadata: Record<string, unknown>;
}

/** A checkpoint as read back, with its pending writes (unordered). */
export interface StoredCheckpoint extends CheckpointRow {
  writes: CheckpointWriteRow[];
}

export interface CheckpointWriteRow {
  taskId: string;
  idx: number;
  channel: string;
  type: string;
  value: Uint8Array;
  taskPath: string;
}

export interface ChannelBlob {
  channel: string;
  version: string;
  /** The serializer's type tag, or `empty` when the channel has no value at this version. */
  type: string;
  blob: Uint8Array | null;
}

interface RawCheckpoint {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  type: string;
  checkpoint: string;
  metadata: unknown;
  writes: unknown;
}

interface RawWrite {
  checkpoint_id?: string;
  task_id: string;
  idx: number;
  channel: string;
  type: string;
  value: string;
  task_path: string;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
// Both drivers parse json columns; tolerate a string from either.
const parseJson = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

function toWrite(r: RawWrite): CheckpointWriteRow {
  return {
    taskId: r.task_id,
    idx: Number(r.idx),
    channel: r.channel,
    type: r.type,
    value: unb64(r.value),
    taskPath: r.task_path,
  };
}

function toCheckpoint(r: RawCheckpoint): StoredCheckpoint {
  return {
    threadId: r.thread_id,
    checkpointNs: r.checkpoint_ns,
    checkpointId: r.checkpoint_id,
    parentCheckpointId: r.parent_checkpoint_id,
    type: r.type,
    checkpoint: unb64(r.checkpoint),
    metadata: parseJson(r.metadata) as Record<string, unknown>,
    writes: ((parseJson(r.writes) as RawWrite[] | null) ?? []).map(toWrite),
  };
}

// A checkpoint and its pending writes in one round trip.
const SELECT_CHECKPOINT = sql`select c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
  c.type, encode(c.checkpoint, 'base64') as checkpoint, c.metadata,
  (select json_agg(json_build_object('task_id', w.task_id, 'idx', w.idx, 'channel', w.channel,
      'type', w.type, 'value', encode(w.value, 'base64'), 'task_path', w.task_path))
    from checkpoint_writes w
    where w.thread_id = c.thread_id and w.checkpoint_ns = c.checkpoint_ns and w.checkpoint_id = c.checkpoint_id
  ) as writes
  from checkpoints c`;

/**
 * Inserts a checkpoint (or replaces it when the same id is put again) with the channel values that
 * changed in it; a (channel, version) already stored is left as it is.
 */
export async function upsertCheckpoint(
  store: Store,
  row: CheckpointRow,
  blobs: ChannelBlob[] = [],
): Promise<void> {
  const withBlobs =
    blobs.length === 0
      ? sql``
      : sql`with b as (
        insert into checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
        values ${sql.join(
          blobs.map(
            (b) => sql`(${row.threadId}, ${row.checkpointNs}, ${b.channel}, ${b.version}, ${b.type},
              ${b.blob ? sql`decode(${b64(b.blob)}, 'base64')` : sql`null`})`,
          ),
          sql`, `,
        )}
        on conflict (thread_id, checkpoint_ns, channel, version) do nothing
      )`;
  await store.rows(sql`${withBlobs}
    insert into checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata)
    values (${row.threadId}, ${row.checkpointNs}, ${row.checkpointId}, ${row.parentCheckpointId}, ${row.type},
      decode(${b64(row.checkpoint)}, 'base64'), ${JSON.stringify(row.metadata)}::jsonb)
    on conflict (thread_id, checkpoint_ns, checkpoint_id) do update set
      parent_checkpoint_id = excluded.parent_checkpoint_id, type = excluded.type,
      checkpoint = excluded.checkpoint, metadata = excluded.metadata`);
}

/** One checkpoint by id, or the newest of the thread's namespace when `checkpointId` is undefined. */
export async function findCheckpoint(
  store: Store,
  key: { threadId: string; checkpointNs: string; checkpointId?: string | undefined },
): Promise<StoredCheckpoint | undefined> {
  const rows = await store.rows<RawCheckpoint>(
    key.checkpointId
      ? sql`${SELECT_CHECKPOINT} where c.thread_id = ${key.threadId} and c.checkpoint_ns = ${key.checkpointNs}
          and c.checkpoint_id = ${key.checkpointId}`
      : sql`${SELECT_CHECKPOINT} where c.thread_id = ${key.threadId} and c.checkpoint_ns = ${key.checkpointNs}
          order by c.checkpoint_id desc limit 1`,
  );
  return rows[0] ? toCheckpoint(rows[0]) : undefined;
}

export interface CheckpointQuery {
  threadId?: string | undefined;
  checkpointNs?: string | undefined;
  checkpointId?: string | undefined;
  /** Only checkpoints with an id lower than this (ids are time-ordered uuid6). */
  beforeId?: string | undefined;
  /** Metadata keys that must equal these values exactly. */
  filter?: Record<string, unknown> | undefined;
  limit?: number | undefined;
}

/** Checkpoints matching the query, newest first within each thread and namespace. */
export async function listCheckpoints(store: Store, q: CheckpointQuery): Promise<StoredCheckpoint[]> {
  const where: SQL[] = [];
  if (q.threadId !== undefined) where.push(sql`c.thread_id = ${q.threadId}`);
  if (q.checkpointNs !== undefined) where.push(sql`c.checkpoint_ns = ${q.checkpointNs}`);
  if (q.checkpointId !== undefined) where.push(sql`c.checkpoint_id = ${q.checkpointId}`);
  if (q.beforeId !== undefined) where.push(sql`c.checkpoint_id < ${q.beforeId}`);
  for (const [field, value] of Object.entries(q.filter ?? {})) {
    // `->` then `=` is exact equality of the jsonb values (not containment), as MemorySaver compares.
    where.push(
      value === undefined
        ? sql`c.metadata -> ${field} is null`
        : sql`c.metadata -> ${field} = ${JSON.stringify(value)}::jsonb`,
    );
  }
  const rows = await store.rows<RawCheckpoint>(sql`${SELECT_CHECKPOINT}
    ${where.length > 0 ? sql`where ${sql.join(where, sql` and `)}` : sql``}
    order by c.thread_id, c.checkpoint_ns, c.checkpoint_id desc
    ${q.limit !== undefined ? sql`limit ${Math.max(0, Math.trunc(q.limit))}` : sql``}`);
  return rows.map(toCheckpoint);
}

/** The pending writes of one checkpoint on one channel (pre-v4 pending sends live on the parent). */
export async function findCheckpointWrites(
  store: Store,
  key: CheckpointKey,
  channel: string,
): Promise<CheckpointWriteRow[]> {
  const rows = await store.rows<RawWrite>(sql`
    select task_id, idx, channel, type, encode(value, 'base64') as value, task_path
    from checkpoint_writes
    where thread_id = ${key.threadId} and checkpoint_ns = ${key.checkpointNs}
      and checkpoint_id = ${key.checkpointId} and channel = ${channel}`);
  return rows.map(toWrite);
}

/**
 * Stores a task's writes. A regular write (idx >= 0) is kept as first written, so a task replayed after
 * a crash cannot change what was recorded; special writes (errors, interrupts, resumes: idx < 0) are
 * replaced.
 */
export async function insertCheckpointWrites(
  store: Store,
  key: CheckpointKey,
  writes: CheckpointWriteRow[],
): Promise<void> {
  const values = (list: CheckpointWriteRow[]) =>
    sql.join(
      list.map(
        (w) => sql`(${key.threadId}, ${key.checkpointNs}, ${key.checkpointId}, ${w.taskId}, ${w.idx}::int,
          ${w.channel}, ${w.type}, decode(${b64(w.value)}, 'base64'), ${w.taskPath})`,
      ),
      sql`, `,
    );
  const regular = writes.filter((w) => w.idx >= 0);
  // A task may write one special channel several times in one call (each interrupt() it passes writes
  // the resume values so far): the last write wins, as with one upsert per write.
  const special = [
    ...new Map(writes.filter((w) => w.idx < 0).map((w) => [`${w.taskId}\u0000${w.idx}`, w])).values(),
  ];
  const insert = sql`insert into checkpoint_writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value, task_path) values`;
  const keepFirst = sql`${insert} ${values(regular)}
    on conflict (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) do nothing`;
  const replace = sql`${insert} ${values(special)}
    on conflict (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) do update set
      channel = excluded.channel, type = excluded.type, value = excluded.value, task_path = excluded.task_path`;
  // Regular and special writes never share a key (their indexes differ in sign): one statement.
  if (regular.length > 0 && special.length > 0) await store.rows(sql`with r as (${keepFirst}) ${replace}`);
  else if (regular.length > 0) await store.rows(keepFirst);
  else if (special.length > 0) await store.rows(replace);
}

/** The stored values of these (channel, version) pairs; pairs never stored are absent. */
export async function findChannelBlobs(
  store: Store,
  key: { threadId: string; checkpointNs: string },
  versions: { channel: string; version: string }[],
): Promise<ChannelBlob[]> {
  if (versions.length === 0) return [];
  const rows = await store.rows<{ channel: string; version: string; type: string; blob: string | null }>(sql`
    select channel, version, type, encode(blob, 'base64') as blob from checkpoint_blobs
    where thread_id = ${key.threadId} and checkpoint_ns = ${key.checkpointNs}
      and (channel, version) in (${sql.join(
        versions.map((v) => sql`(${v.channel}, ${v.version})`),
        sql`, `,
      )})`);
  return rows.map((r) => ({ ...r, blob: r.blob === null ? null : unb64(r.blob) }));
}

/** Removes every checkpoint, write and channel value of a thread, in all namespaces. */
export async function deleteThreadCheckpoints(store: Store, threadId: string): Promise<void> {
  await store.rows(sql`
    with w as (delete from checkpoint_writes where thread_id = ${threadId}),
      b as (delete from checkpoint_blobs where thread_id = ${threadId})
    delete from checkpoints where thread_id = ${threadId}`);
}
