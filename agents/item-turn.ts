// One item's turn at its value-stream thread: a transaction that holds the item's advisory lock, so
// instances on one database resume an item one at a time, and the thread's checkpoints, the steps it
// routes and the item's end commit together or not at all. Code that runs during the turn (the
// checkpointer, the stream's ports) finds the turn's transaction through `current()`.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Core } from '../capabilities/core.js';
import { publishRouted, type RoutedStep } from '../capabilities/router.js';
import { ADVISORY_LOCK_SPACES, advisoryXactLockOn } from '../store/advisory-locks.js';
import type { Database, Store } from '../store/database.js';
import { FlowmeshError } from '../work/errors.js';

export interface ItemTurn {
  tx: Database;
  /** Steps routed during the turn: published (hops, wake-ups) once it commits. */
  routed: RoutedStep[];
  /** Items the turn ended without a hop of their own: their traces are closed once it commits. */
  ended: string[];
}

export interface ItemTurns {
  /** Runs `fn` as the item's turn; waits for a turn another caller or instance holds. */
  run<T>(itemId: string, fn: (turn: ItemTurn) => Promise<T>): Promise<T>;
  /** The turn the caller runs in; throws outside one. */
  current(): ItemTurn;
  /** A store whose queries run on the current turn's transaction, and on the pool outside a turn. */
  readonly store: Store;
}

export function createItemTurns(core: Core): ItemTurns {
  const context = new AsyncLocalStorage<ItemTurn>();
  // Callers in this process queue here, so a busy item holds one pooled connection, not one per waiter.
  const queues = new Map<string, Promise<unknown>>();

  async function serially<T>(itemId: string, fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(itemId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    queues.set(itemId, settled);
    try {
      return await run;
    } finally {
      if (queues.get(itemId) === settled) queues.delete(itemId);
    }
  }

  const base = core.store;
  const tx = () => context.getStore()?.tx;
  const store: Store = {
    kind: base.kind,
    get db() {
      return tx() ?? base.db;
    },
    rows: (query, on) => base.rows(query, on ?? tx() ?? base.db),
    query(text, params) {
      // Straight to the driver, past the transaction: not allowed during a turn.
      if (tx()) throw new FlowmeshError('internal', 'store.query cannot run on a value-stream turn');
      return base.query(text, params);
    },
    transaction: (fn) => {
      const t = tx();
      return t ? t.transaction(fn) : base.transaction(fn);
    },
    listen: (channel, onNotify) => base.listen(channel, onNotify),
    close: () => base.close(),
  };

  return {
    store,
    run(itemId, fn) {
      if (context.getStore()) {
        throw new FlowmeshError('internal', `a value-stream turn of ${itemId} started inside another turn`);
      }
      return serially(itemId, async () => {
        const routed: RoutedStep[] = [];
        const ended: string[] = [];
        const out = await base.transaction(async (t) => {
          await advisoryXactLockOn(t, ADVISORY_LOCK_SPACES.valueStreamItem, itemId);
          const turn = { tx: t, routed, ended };
          return context.run(turn, () => fn(turn));
        });
        publishRouted(core, routed);
        for (const id of ended) core.router.hops.ended?.(id);
        return out;
      });
    },
    current() {
      const turn = context.getStore();
      if (!turn) throw new FlowmeshError('internal', 'a value stream moved outside its item’s turn');
      return turn;
    },
  };
}
