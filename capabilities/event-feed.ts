// The live side of the event log: one poller per process follows the log's safe horizon while someone
// is subscribed, and every subscriber (an SSE stream) reads what passes its filter from there.
// Polling the log, not NOTIFY per event: the log is the source of truth on every driver and instance,
// costs one indexed range read per interval however many subscribers there are, and adds nothing to
// the write path. Writers in this process may poke() the feed to be seen at once.

import type { Store } from '../store/database.js';
import { latestEventId, oldestOfNewestEventId, readEventLog, readEventLogPage } from '../store/event-log.js';
import type { Clock } from '../work/clock.js';
import { type EventFilter, type FeedEvent, matchesEvent } from '../work/event-filter.js';
import type { Logger } from '../work/logger.js';
import { type GapJudge, gapJudgeFor } from './log-gaps.js';

export interface EventFeedOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** How often the log is read while someone is subscribed. */
  pollMs?: number | undefined;
  /** Judges gaps in the log's ids (default: the process's judge for the store). */
  gaps?: GapJudge | undefined;
  batchSize?: number | undefined;
}

export interface EventSubscription {
  /** The id of the last event handed out (or skipped by the filter). */
  readonly cursor: number;
  /** The next events after the cursor that pass the filter, oldest first; `[]` if none came within `waitMs`. */
  next(waitMs: number): Promise<FeedEvent[]>;
  close(): void;
}

export interface EventFeed {
  /** `after`: resume after this event id; absent: only events from now on (after the newest one written). */
  subscribe(input: { after?: number | undefined; filter: EventFilter }): Promise<EventSubscription>;
  /** Reads the log now rather than at the next interval. */
  poke(): void;
  /** Reads the log once; resolves to the new horizon (every event up to it may be handed out). */
  refresh(): Promise<number>;
  close(): void;
}

export function createEventFeed(options: EventFeedOptions): EventFeed {
  const { store, clock, logger } = options;
  const pollMs = options.pollMs ?? 200;
  const gaps = options.gaps ?? gapJudgeFor(store, clock);
  const batchSize = options.batchSize ?? 500;

  let horizon: number | undefined;
  /** The events of the last read, covering (from, horizon]: caught-up subscribers filter them in memory. */
  let recent: { from: number; events: FeedEvent[] } | undefined;
  let reading: Promise<number> | undefined;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let subscribers = 0;
  const waiters = new Set<() => void>();

  async function readOnce(): Promise<number> {
    // The first read starts below the newest events and moves up through them as any read does, so an
    // event still being written below the newest ones is not passed over.
    if (horizon === undefined) horizon = Math.max(0, (await oldestOfNewestEventId(store.db, 1000)) - 1);
    for (;;) {
      const from: number = horizon;
      const page = await readEventLogPage(store.db, { after: from, limit: batchSize });
      const accepted = gaps.safeRows(page.events, from, page.horizon);
      const last = accepted.at(-1);
      if (!last) return from;
      horizon = last.id;
      recent = { from, events: accepted };
      for (const wake of [...waiters]) wake();
      if (accepted.length < batchSize) return horizon;
    }
  }

  function refresh(): Promise<number> {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      try {
        let h = await readOnce();
        while (again) {
          again = false;
          h = await readOnce();
        }
        return h;
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  }

  function schedule(): void {
    if (timer || closed || subscribers === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      refresh()
        .catch((error) => logger.warn('event feed read failed', { error: String(error) }))
        .finally(schedule);
    }, pollMs);
    timer.unref?.();
  }

  return {
    async subscribe({ after, filter }) {
      // "From now on" starts after the newest event written so far; the feed's horizon (which may be
      // behind it while an older gap is judged) catches up on its own.
      const start = after ?? (await latestEventId(store.db));
      if (horizon === undefined) await refresh();
      let cursor = start;
      let open = true;
      subscribers++;
      schedule();

      function waitForAdvance(ms: number): Promise<boolean> {
        return new Promise((resolve) => {
          const done = (moved: boolean) => {
            clearTimeout(t);
            waiters.delete(wake);
            resolve(moved);
          };
          const wake = () => done(true);
          const t = setTimeout(() => done(false), Math.max(0, ms));
          waiters.add(wake);
        });
      }

      const subscription: EventSubscription = {
        get cursor() {
          return cursor;
        },
        async next(waitMs) {
          const deadline = Date.now() + waitMs;
          while (open) {
            const h = horizon ?? (await refresh());
            if (cursor < h) {
              if (recent && cursor >= recent.from) {
                const found = recent.events.filter((e) => e.id > cursor && matchesEvent(filter, e));
                cursor = h;
                if (found.length > 0) return found;
              } else {
                const found = await readEventLog(store.db, {
                  after: cursor,
                  upTo: h,
                  limit: batchSize,
                  filter,
                });
                const last = found.at(-1);
                cursor = found.length === batchSize && last ? last.id : h;
                if (found.length > 0) return found;
              }
              continue;
            }
            const left = deadline - Date.now();
            if (left <= 0 || !(await waitForAdvance(left))) return [];
          }
          return [];
        },
        close() {
          if (!open) return;
          open = false;
          subscribers--;
          for (const wake of [...waiters]) wake();
        },
      };
      return subscription;
    },
    poke() {
      if (closed || subscribers === 0) return;
      refresh().catch((error) => logger.warn('event feed read failed', { error: String(error) }));
    },
    refresh,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const wake of [...waiters]) wake();
    },
  };
}
