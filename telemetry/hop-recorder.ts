// The router's HopRecorder, implemented with hop spans. Work on an approval step becomes an `approval`
// hop. After a hop that can end an item (work, handoff, escalate, a route that found no node), or when
// told an item ended without one (cancelled, its value stream finished), the item's state is checked
// off the request path; an item that ended gets its root span (submission → end), which carries the
// lead time. A hop that says how its item ended (the completion that closed it knows) needs no check.
import type { Store } from '../store/database.js';
import { findEndedItems } from '../store/spans.js';
import type { Logger } from '../work/logger.js';
import type { HopInput, HopTracer, ItemEnd } from './hops.js';

export interface TelemetryHopRecorder {
  record(hop: HopInput): void;
  /** An item ended without a hop (cancelled, its value stream finished): check it as after a hop. */
  ended(workItemId: string): void;
  /** Resolves once the pending item-end checks are done (reads call it before querying). */
  settle(): Promise<void>;
}

/**
 * Whether work on steps of this capability is an approval. The rule: a capability that a completion
 * policy requires (`require: refund.approve`) is an approval capability. Such steps exist to approve
 * or reject the work before them, so their work phase (completed or failed) is an `approval` hop,
 * whether a policy inserted the step, the item's value stream routes it as one of its own steps (the
 * refund stream's approve step, which the policy then leaves to the stream), or the item was
 * submitted straight to that capability. It is read per hop, so a policy reload applies at once.
 */
export type ApprovalRule = (capability: string) => boolean;

export function createHopRecorder(deps: {
  hops: HopTracer;
  store: Store;
  logger: Logger;
  isApproval?: ApprovalRule | undefined;
}): TelemetryHopRecorder {
  const { hops, store, logger, isApproval } = deps;
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

  const checkLater = (workItemId: string) => {
    pending.add(workItemId);
    if (!scheduled) {
      scheduled = true;
      running = running.then(check);
    }
  };

  return {
    record(input) {
      const hop: HopInput =
        input.hop === 'work' && isApproval?.(input.capability) ? { ...input, hop: 'approval' } : input;
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
        checkLater(hop.workItemId);
      }
    },
    ended: checkLater,
    settle() {
      if (pending.size > 0 && !scheduled) {
        scheduled = true;
        running = running.then(check);
      }
      return running;
    },
  };
}
