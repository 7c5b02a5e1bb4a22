// Group commit: writes that arrive together are sent together. Concurrent callers' rows are gathered
// for one turn of the event loop (longer while every writer is busy), written in one statement and one
// commit, and each caller's promise settles only when its own rows are committed or have failed.
// Under light load a batch is one write sent at once; under heavy load batches grow by themselves.

export interface GroupCommitOptions {
  /** Rows per write at most. */
  maxBatch?: number;
  /** Writes in flight at once; further rows wait for one to finish and join the next batch. */
  maxInFlight?: number;
}

export interface GroupCommit<T, R = void> {
  /** Resolves, with what the write answered for it, when `row` is committed; rejects with the error of its own write. */
  add(row: T): Promise<R>;
  /** Resolves when everything added so far has been written (or has failed). */
  drain(): Promise<void>;
}

/** setImmediate where the runtime has it (Node.js), a zero timeout elsewhere. */
const nextTurn: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

/** The i-th of a write's results; undefined (the `void` of writes without results) when it has none. */
function resultAt<R>(results: unknown, i: number): R {
  return (Array.isArray(results) ? results[i] : undefined) as R;
}

interface Waiting<T, R> {
  row: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * `write` must be atomic: all of a batch commits or none of it. It answers one result per row, in the
 * batch's order (or nothing, for writes without results). When a batch of several fails, each of its
 * rows is written again on its own, so one bad row fails its caller only.
 */
export function createGroupCommit<T, R = void>(
  write: (batch: readonly T[]) => Promise<unknown>,
  options: GroupCommitOptions = {},
): GroupCommit<T, R> {
  const maxBatch = options.maxBatch ?? 200;
  const maxInFlight = options.maxInFlight ?? 4;
  let waiting: Waiting<T, R>[] = [];
  let inFlight = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];

  const settle = async (batch: Waiting<T, R>[]): Promise<void> => {
    try {
      const results = await write(batch.map((w) => w.row));
      for (let i = 0; i < batch.length; i++) batch[i]?.resolve(resultAt<R>(results, i));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      await Promise.all(
        batch.map((w) =>
          write([w.row]).then(
            (results) => w.resolve(resultAt<R>(results, 0)),
            (e: unknown) => w.reject(e),
          ),
        ),
      );
    }
  };

  const flush = (): void => {
    scheduled = false;
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = waiting.length <= maxBatch ? waiting : waiting.slice(0, maxBatch);
      waiting = waiting.length <= maxBatch ? [] : waiting.slice(maxBatch);
      inFlight++;
      void settle(batch).finally(() => {
        inFlight--;
        schedule();
        if (inFlight === 0 && waiting.length === 0) for (const done of idle.splice(0)) done();
      });
    }
  };

  function schedule(): void {
    if (scheduled || waiting.length === 0 || inFlight >= maxInFlight) return;
    scheduled = true;
    // After the current turn's I/O callbacks: requests parsed in the same turn share a batch.
    nextTurn(flush);
  }

  return {
    add(row) {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ row, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (inFlight === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
