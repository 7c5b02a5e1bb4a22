// A LangGraph checkpointer on flowmesh's Store: one saver for PGlite and PostgreSQL, the same schema and
// drizzle-kit migrations as the rest of the service, and no second connection pool.
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  compareWritesSortKeys,
  getCheckpointId,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
  writesSortKey,
} from '@langchain/langgraph-checkpoint';
import {
  type CheckpointWriteRow,
  deleteThreadCheckpoints,
  findChannelBlobs,
  findCheckpoint,
  findCheckpointWrites,
  insertCheckpointWrites,
  listCheckpoints,
  type StoredCheckpoint,
  upsertCheckpoint,
} from '../store/checkpoints.js';
import type { Store } from '../store/database.js';
import { FlowmeshError } from '../work/errors.js';

function requireString(config: RunnableConfig, field: string, action: string): string {
  const value = config.configurable?.[field];
  if (typeof value !== 'string' || value === '') {
    throw new FlowmeshError(
      'invalid',
      `cannot ${action}: config.configurable.${field} must be a non-empty string (got ${value === undefined ? 'nothing' : typeof value})`,
    );
  }
  return value;
}

const namespaceOf = (config: RunnableConfig): string => {
  const ns = config.configurable?.checkpoint_ns;
  return typeof ns === 'string' ? ns : '';
};

export class StoreCheckpointSaver extends BaseCheckpointSaver {
  readonly #store: Store;

  constructor(store: Store, serde?: SerializerProtocol) {
    super(serde);
    this.#store = store;
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id;
    if (typeof threadId !== 'string') return undefined;
    const row = await findCheckpoint(this.#store, {
      threadId,
      checkpointNs: namespaceOf(config),
      checkpointId: getCheckpointId(config) || undefined,
    });
    return row ? this.#toTuple(row) : undefined;
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = config.configurable ?? {};
    const rows = await listCheckpoints(this.#store, {
      threadId: typeof c.thread_id === 'string' ? c.thread_id : undefined,
      checkpointNs: typeof c.checkpoint_ns === 'string' ? c.checkpoint_ns : undefined,
      checkpointId: typeof c.checkpoint_id === 'string' && c.checkpoint_id ? c.checkpoint_id : undefined,
      beforeId: options.before?.configurable?.checkpoint_id,
      filter: options.filter,
      limit: options.limit,
    });
    for (const row of rows) yield await this.#toTuple(row);
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = requireString(config, 'thread_id', 'put a checkpoint');
    const checkpointNs = namespaceOf(config);
    // Values of the channels that changed go to checkpoint_blobs; the checkpoint keeps only versions.
    const { channel_values: values, ...rest } = checkpoint;
    const blobs = await Promise.all(
      Object.entries(newVersions).map(async ([channel, version]) => {
        if (!Object.hasOwn(values, channel)) {
          return { channel, version: String(version), type: 'empty', blob: null };
        }
        const [type, blob] = await this.serde.dumpsTyped((values as Record<string, unknown>)[channel]);
        return { channel, version: String(version), type, blob };
      }),
    );
    const [type, bytes] = await this.serde.dumpsTyped({ ...rest, channel_values: {} });
    const [, metadataBytes] = await this.serde.dumpsTyped(metadata);
    await upsertCheckpoint(
      this.#store,
      {
        threadId,
        checkpointNs,
        checkpointId: checkpoint.id,
        parentCheckpointId: getCheckpointId(config) || null,
        type,
        checkpoint: bytes,
        metadata: JSON.parse(new TextDecoder().decode(metadataBytes)) as Record<string, unknown>,
      },
      blobs,
    );
    return {
      configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: checkpoint.id },
    };
  }

  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath = '',
  ): Promise<void> {
    const threadId = requireString(config, 'thread_id', 'put writes');
    const checkpointId = requireString(config, 'checkpoint_id', 'put writes');
    const rows: CheckpointWriteRow[] = await Promise.all(
      writes.map(async ([channel, value], i) => {
        const [type, bytes] = await this.serde.dumpsTyped(value);
        return { taskId, idx: WRITES_IDX_MAP[channel] ?? i, channel, type, value: bytes, taskPath };
      }),
    );
    await insertCheckpointWrites(
      this.#store,
      { threadId, checkpointNs: namespaceOf(config), checkpointId },
      rows,
    );
  }

  async deleteThread(threadId: string): Promise<void> {
    await deleteThreadCheckpoints(this.#store, threadId);
  }

  async #toTuple(row: StoredCheckpoint): Promise<CheckpointTuple> {
    const key = { threadId: row.threadId, checkpointNs: row.checkpointNs };
    const checkpoint = (await this.serde.loadsTyped(row.type, row.checkpoint)) as Checkpoint;
    const blobs = await findChannelBlobs(
      this.#store,
      key,
      Object.entries(checkpoint.channel_versions).map(([channel, version]) => ({
        channel,
        version: String(version),
      })),
    );
    const values: Record<string, unknown> = {};
    for (const b of blobs) {
      if (b.type !== 'empty' && b.blob) values[b.channel] = await this.serde.loadsTyped(b.type, b.blob);
    }
    checkpoint.channel_values = values;
    const writes = row.writes;
    if (checkpoint.v < 4 && row.parentCheckpointId) await this.#migratePendingSends(checkpoint, row);
    const tuple: CheckpointTuple = {
      config: {
        configurable: {
          thread_id: row.threadId,
          checkpoint_ns: row.checkpointNs,
          checkpoint_id: row.checkpointId,
        },
      },
      checkpoint,
      metadata: (await this.serde.loadsTyped('json', JSON.stringify(row.metadata))) as CheckpointMetadata,
      pendingWrites: await this.#orderedWrites(writes),
    };
    if (row.parentCheckpointId) {
      tuple.parentConfig = {
        configurable: {
          thread_id: row.threadId,
          checkpoint_ns: row.checkpointNs,
          checkpoint_id: row.parentCheckpointId,
        },
      };
    }
    return tuple;
  }

  /** Pending writes in the order live execution applies them: (task path, task id, index). */
  async #orderedWrites(writes: CheckpointWriteRow[]): Promise<CheckpointPendingWrite[]> {
    const sorted = [...writes].sort((a, b) =>
      compareWritesSortKeys(
        writesSortKey(a.taskPath, a.taskId, a.idx),
        writesSortKey(b.taskPath, b.taskId, b.idx),
      ),
    );
    return Promise.all(
      sorted.map(
        async (w) =>
          [w.taskId, w.channel, await this.serde.loadsTyped(w.type, w.value)] as CheckpointPendingWrite,
      ),
    );
  }

  /** Checkpoints before format v4 kept pending sends as writes of the parent; v4 keeps them in a channel. */
  async #migratePendingSends(checkpoint: Checkpoint, row: StoredCheckpoint): Promise<void> {
    const parentId = row.parentCheckpointId!;
    const writes = await findCheckpointWrites(
      this.#store,
      { threadId: row.threadId, checkpointNs: row.checkpointNs, checkpointId: parentId },
      TASKS,
    );
    const sends = await this.#orderedWrites(writes);
    const values = checkpoint.channel_values as Record<string, unknown>;
    values[TASKS] = sends.map(([, , value]) => value);
    const versions = checkpoint.channel_versions as Record<string, string | number>;
    const existing = Object.values(versions);
    versions[TASKS] = existing.length > 0 ? maxChannelVersion(...existing) : this.getNextVersion(undefined);
  }
}
