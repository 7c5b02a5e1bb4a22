// Outcomes of nodes' work for the circuit breaker, counted in memory and written in batches. Each
// node has one health row, so writing it in every completion's transaction queued all completions of
// a busy node on that row's lock. The sweeper flushes before it judges nodes; a timer writes the rest.
// Health counts are derived (every outcome is also an event), so a crash loses at most one interval.
import type { Store } from '../store/database.js';
import { recordOutcomes } from '../store/network.js';
import type { Logger } from '../work/logger.js';

export interface NodeOutcomes {
  /** Counts one outcome; call it after the change it belongs to committed. */
  add(nodeId: string, ok: boolean, at: Date): void;
  /** Writes everything counted so far; resolves when it is stored. */
  flush(): Promise<void>;
  /** Outcomes counted and not yet written. */
  pending(): number;
  close(): Promise<void>;
}

interface Bucket {
  /** Clock time of the bucket's first outcome: the write uses it, so windows follow the clock. */
  at: Date;
  successes: number;
  failures: number;
}

/** A bucket covers at most this much clock time, so a window starts at most this late in a batch. */
const BUCKET_MS = 1000;

export function createNodeOutcomes(deps: {
  store: Store;
  logger: Logger;
  windowSeconds: () => number;
  flushIntervalMs?: number;
}): NodeOutcomes {
  const { store, logger } = deps;
  let buckets = new Map<string, Bucket[]>();
  let count = 0;
  let chain: Promise<void> = Promise.resolve();

  const write = async (batch: Map<string, Bucket[]>) => {
    for (const [nodeId, list] of batch) {
      for (const b of list) {
        try {
          await recordOutcomes(
            store,
            store.db,
            nodeId,
            { successes: b.successes, failures: b.failures },
            b.at,
            deps.windowSeconds(),
          );
        } catch (error) {
          logger.warn('node outcomes not stored', { nodeId, error: String(error) });
        }
      }
    }
  };

  const flush = () => {
    if (count > 0) {
      const batch = buckets;
      buckets = new Map();
      count = 0;
      chain = chain.then(() => write(batch));
    }
    return chain;
  };

  const timer = setInterval(() => void flush(), deps.flushIntervalMs ?? 1000);
  timer.unref?.();

  return {
    add(nodeId, ok, at) {
      let list = buckets.get(nodeId);
      if (!list) {
        list = [];
        buckets.set(nodeId, list);
      }
      let last = list.at(-1);
      if (!last || at.getTime() - last.at.getTime() >= BUCKET_MS) {
        last = { at, successes: 0, failures: 0 };
        list.push(last);
      }
      if (ok) last.successes++;
      else last.failures++;
      count++;
    },
    flush,
    pending: () => count,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
