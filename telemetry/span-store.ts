// Writes hop, item and agent spans to the span store in batches, off the request path. A crash loses
// at most the unflushed batch of spans, never work state (that lives in the event log).
import type { Store } from '../store/database.js';
import { deleteSpansEndedBefore, insertSpans } from '../store/span-writes.js';
import type { Logger } from '../work/logger.js';
import type { SpanRow } from './span-row.js';

export interface SpanStoreWriter {
  enqueue(rows: readonly SpanRow[]): void;
  /** Writes everything queued so far; resolves when it is stored. */
  flush(): Promise<void>;
  /** Deletes spans that ended before `cutoff`. */
  sweep(cutoff: Date): Promise<number>;
  pending(): number;
  /** Spans dropped because the queue was full or a write failed. */
  dropped(): number;
  close(): Promise<void>;
}

export interface SpanStoreOptions {
  store: Store;
  logger: Logger;
  maxBatch?: number;
  flushIntervalMs?: number;
  /** Beyond this many queued spans new ones are dropped (and counted) rather than growing memory. */
  maxQueue?: number;
}

export function createSpanStoreWriter(options: SpanStoreOptions): SpanStoreWriter {
  const { store, logger } = options;
  const maxBatch = options.maxBatch ?? 512;
  const maxQueue = options.maxQueue ?? 100_000;
  const queue: SpanRow[] = [];
  let dropped = 0;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  /** Whether a size-triggered write is queued or running (one at a time: it writes full batches). */
  let draining = false;

  const write = async (batch: SpanRow[]) => {
    try {
      await insertSpans(store, batch);
    } catch (error) {
      // Spans are derived data: log and drop, never let telemetry break the work path.
      dropped += batch.length;
      logger.warn('span store write failed; batch dropped', { spans: batch.length, error: String(error) });
    }
  };
  /** Spans ever queued and ever taken off the queue to be written (dropped ones are not queued). */
  let queued = 0;
  let taken = 0;
  const take = (n: number) => {
    taken += Math.min(n, queue.length);
    return queue.splice(0, n);
  };
  /** Writes full batches while there are; what is left waits for the timer or an explicit flush. */
  const writeFull = async () => {
    try {
      while (queue.length >= maxBatch) await write(take(maxBatch));
    } finally {
      draining = false;
    }
  };
  /**
   * Writes what was queued up to `upTo`, and no more: spans that arrive meanwhile wait for a full
   * batch or the next flush, rather than each write chasing the few that came during the one before.
   */
  const writeUpTo = async (upTo: number) => {
    while (taken < upTo && queue.length > 0) await write(take(Math.min(maxBatch, upTo - taken)));
  };
  const flush = () => {
    const upTo = queued;
    chain = chain.then(() => writeUpTo(upTo));
    return chain;
  };

  const timer = setInterval(() => {
    if (queue.length > 0) void flush();
  }, options.flushIntervalMs ?? 1000);
  timer.unref?.();

  return {
    enqueue(rows) {
      if (closed) return;
      for (const r of rows) {
        if (queue.length >= maxQueue) dropped += 1;
        else {
          queue.push(r);
          queued += 1;
        }
      }
      // One writer for full batches at a time, not one per span enqueued while it runs.
      if (queue.length >= maxBatch && !draining) {
        draining = true;
        chain = chain.then(writeFull);
      }
    },
    flush,
    async sweep(cutoff) {
      return deleteSpansEndedBefore(store, cutoff);
    },
    pending: () => queue.length,
    dropped: () => dropped,
    async close() {
      clearInterval(timer);
      await flush();
      closed = true;
    },
  };
}
