// The router's HopRecorder, implemented with hop spans. After a hop that can end an item (work,
// handoff, escalate, a route that found no node), the item's state is checked off the request path;
// an item that ended gets its root span (submission → end), which carries the lead time. A hop that
// says how its item ended (the completion that closed it knows) needs no check.
import type { Store } from '../store/database.js';
import { findEndedItems } from '../store/spans.js';
import type { Logger } from '../work/logger.js';
import type { HopInput, HopTracer, ItemEnd } from './hops.js';

export interface TelemetryHopRecorder {
  record(hop: HopInput): void;
  /** Resolves once the pending item-end checks are done (reads call it before querying). */
  settle(): Promise<void>;
}

export function createHopRecorder(deps: {
  hops: HopTracer;
  store: Store;
  logger: Logger;
}): TelemetryHopRecorder {
  const { hops, store, logger } = deps;
  let pending = new Set<string>();
  const ended = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  let scheduled = false;

  const endItem = (end: ItemEnd) => {
    if (ended.has(end.workItemId)) return;
    ended.add(end.workItemId);
    if (ended.size > 50_000) ended.clear();
    hops.recordItemEnd(end);
  };

  const check = async () => {
    scheduled = false;
    const ids = [...pending].filter((id) => !ended.has(id));
    pending = new Set();
    if (ids.length === 0) return;
    try {
      for (const item of await findEndedItems(store.db, ids)) {
        endItem({
          workItemId: item.id,
          workItemKind: item.kind,
          traceparent: item.traceparent,
          state: item.state,
          createdAt: item.createdAt,
          endedAt: item.updatedAt,
        });
      }
    } catch (error) {
      logger.warn('item end check failed', { error: String(error) });
    }
  };

  return {
    record(hop) {
      hops.record(hop);
      if (hop.itemEnd) {
        endItem({
          workItemId: hop.workItemId,
          workItemKind: hop.workItemKind,
          traceparent: hop.traceparent,
          ...hop.itemEnd,
        });
      } else if (hop.hop !== 'wait' && !(hop.hop === 'route' && hop.outcome === 'routed')) {
        // A wait or a routed step leaves its item open: only the other hops may have ended it.
        pending.add(hop.workItemId);
        if (!scheduled) {
          scheduled = true;
          running = running.then(check);
        }
      }
    },
    settle() {
      if (pending.size > 0 && !scheduled) {
        scheduled = true;
        running = running.then(check);
      }
      return running;
    },
  };
}
