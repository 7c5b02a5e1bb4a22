// Wakes claimers that long-poll for work. In-process waiters are woken directly. Across instances
// (PostgreSQL), a NOTIFY tells the others which capabilities got work — coalesced: at most one
// NOTIFY per instance per window, sent in its own tiny transaction after the work committed, never
// one per submitted item inside the submit transaction (PostgreSQL commits NOTIFY-sending
// transactions one at a time, which would cap submits).
import type { Store } from '../store/database.js';
import { notifyChannel } from '../store/notify.js';
import type { Logger } from '../work/logger.js';

export const WAKE_CHANNEL = 'flowmesh_steps';

export interface Wakeups {
  /**
   * A mark for `capabilities`: it moves whenever work for one of them may have arrived (queued here or
   * announced by another instance). A claimer takes it before it looks at the queue and waits with it,
   * so work queued while it looked still wakes it, without listening while it looks.
   */
  mark(capabilities: readonly string[]): number;
  /**
   * Resolves when work for one of `capabilities` may have arrived, or after `ms`, or on abort. With
   * `since` (a mark), at once when the mark has moved since it was taken.
   */
  wait(
    capabilities: readonly string[],
    ms: number,
    signal?: AbortSignal,
    since?: number,
  ): Promise<'woken' | 'timeout'>;
  /** Steps of these capabilities were queued (after commit). */
  queued(capabilities: Iterable<string>): void;
  /** Listeners for local queueing (push dispatch uses it). */
  subscribe(listener: (capabilities: ReadonlySet<string>) => void): () => void;
  close(): Promise<void>;
}

interface Waiter {
  capabilities: ReadonlySet<string>;
  wake: () => void;
}

export function createWakeups(deps: { store: Store; logger: Logger; coalesceMs?: number }): Wakeups {
  const { store, logger } = deps;
  const coalesceMs = deps.coalesceMs ?? 20;
  const waiters = new Set<Waiter>();
  const listeners = new Set<(caps: ReadonlySet<string>) => void>();
  const pending = new Set<string>();
  /** Per capability, how many times work for it may have arrived (bounded by the capabilities announced). */
  const arrivals = new Map<string, number>();
  const mark = (capabilities: readonly string[]): number => {
    let n = 0;
    for (const c of capabilities) n += arrivals.get(c) ?? 0;
    return n;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let listening: Promise<() => Promise<void>> | undefined;
  let closed = false;

  const wakeLocal = (caps: ReadonlySet<string>) => {
    for (const c of caps) arrivals.set(c, (arrivals.get(c) ?? 0) + 1);
    for (const w of waiters) {
      for (const c of caps) {
        if (w.capabilities.has(c)) {
          w.wake();
          break;
        }
      }
    }
  };

  const ensureListening = () => {
    if (store.kind !== 'postgres' || listening || closed) return;
    listening = store.listen(WAKE_CHANNEL, (payload) => wakeLocal(new Set(payload.split(','))));
    listening.catch((error: unknown) => {
      logger.warn('LISTEN for claim wake-ups failed; long-polls fall back to their timeout', {
        error: String(error),
      });
      listening = undefined;
    });
  };

  const flush = () => {
    timer = undefined;
    if (pending.size === 0 || closed) return;
    const payload = [...pending].join(',').slice(0, 7900);
    pending.clear();
    notifyChannel(store, WAKE_CHANNEL, payload).catch((error: unknown) => {
      logger.warn('NOTIFY for claim wake-ups failed', { error: String(error) });
    });
  };

  return {
    mark(capabilities) {
      // Listening starts with the first claimer: announcements from other instances move marks from then on.
      ensureListening();
      return mark(capabilities);
    },
    wait(capabilities, ms, signal, since) {
      ensureListening();
      if (since !== undefined && mark(capabilities) !== since) return Promise.resolve('woken');
      return new Promise((resolve) => {
        let done = false;
        const finish = (how: 'woken' | 'timeout') => {
          if (done) return;
          done = true;
          clearTimeout(t);
          waiters.delete(waiter);
          signal?.removeEventListener('abort', onAbort);
          resolve(how);
        };
        const onAbort = () => finish('timeout');
        const waiter: Waiter = { capabilities: new Set(capabilities), wake: () => finish('woken') };
        const t = setTimeout(() => finish('timeout'), ms);
        waiters.add(waiter);
        signal?.addEventListener('abort', onAbort);
      });
    },
    queued(capabilities) {
      const caps = new Set(capabilities);
      if (caps.size === 0) return;
      wakeLocal(caps);
      for (const l of listeners) l(caps);
      if (store.kind === 'postgres' && !closed) {
        for (const c of caps) pending.add(c);
        timer ??= setTimeout(flush, coalesceMs);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of waiters) w.wake();
      const unlisten = await listening?.catch(() => undefined);
      await unlisten?.().catch(() => {});
    },
  };
}
