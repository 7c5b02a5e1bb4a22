// How value streams meet the router. The stream driver (agents/value-stream-driver.ts, on LangGraph)
// plugs in as `router.streams`; the router calls it after a submission and after a completion commits.
// The driver routes each stream step through routeStreamStep: an ordinary router step, once per key.

import type { Database } from '../store/database.js';
import { insertEvents, nextSeq, updateItem } from '../store/router.js';
import {
  bindStreamStep,
  findStreamStepId,
  findUnboundFirstStep,
  hasOpenSteps,
} from '../store/stream-steps.js';
import { findWorkItem } from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import type { JsonValue } from '../work/json.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { Core } from './core.js';
import { insertRoutedStep, publishRouted, type RoutedStep } from './router.js';

export interface StreamHook {
  /** The capability of the first step when items of this kind follow a value stream. */
  firstCapability(kind: string): string | undefined;
  /** True when the kind's stream has a step of this capability (a policy need not require it too). */
  covers(kind: string, capability: string): boolean;
  /** True when the item follows a value stream (it was submitted without a capability). */
  follows(db: Database, itemId: string): Promise<boolean>;
  /** After a submission of a streamed kind committed: start the item's thread. */
  submitted(item: WorkItemRecord): Promise<void>;
  /** After a step of a streamed item completed (committed): resume the thread with its result. */
  stepCompleted(item: WorkItemRecord, step: StepRecord, result: JsonValue | null): Promise<void>;
}

export interface StreamStepRoute {
  itemId: string;
  /** `<stream step>#<visit>`. */
  key: string;
  capability: string;
  /** The stream's first step on its first visit: it takes over the step made at submission. */
  first: boolean;
}

/**
 * Routes one stream step. Idempotent by key: a restart that routes the same stream step again finds
 * the step it made. Returns the router step's id, or undefined when the item is no longer open.
 */
export async function routeStreamStep(core: Core, route: StreamStepRoute): Promise<string | undefined> {
  const now = core.clock.now();
  const routed: RoutedStep[] = [];
  const stepId = await core.store.transaction(async (tx) => {
    const item = await findWorkItem(tx, route.itemId, { forUpdate: true });
    if (!item) throw new FlowmeshError('not_found', `work item ${route.itemId} does not exist`);
    if (item.state !== 'open') return undefined;
    const bound = await findStreamStepId(core.store, tx, item.id, route.key);
    if (bound) return bound;
    if (route.first) {
      const existing = await findUnboundFirstStep(core.store, tx, item.id, route.capability);
      if (existing) {
        await bindStreamStep(core.store, tx, { workItemId: item.id, stepKey: route.key, stepId: existing });
        return existing;
      }
    }
    const seq = await nextSeq(core.store, tx, item.id);
    const r = await insertRoutedStep(core, tx, {
      item,
      capability: route.capability,
      seq,
      now,
      data: { streamStep: route.key },
    });
    await bindStreamStep(core.store, tx, { workItemId: item.id, stepKey: route.key, stepId: r.step.id });
    routed.push(r);
    return r.step.id;
  });
  publishRouted(core, routed);
  return stepId;
}

/**
 * The stream ended: the item is done, with the stream's outcome (`completed`, `rejected`…) as result —
 * once no other step is open (a review a policy required runs beside the stream and is waited for).
 */
export async function finishStreamItem(
  core: Core,
  itemId: string,
  outcome: string,
  results: Record<string, unknown>,
): Promise<void> {
  const now = core.clock.now();
  const finished = await core.store.transaction(async (tx) => {
    const item = await findWorkItem(tx, itemId, { forUpdate: true });
    if (item?.state !== 'open') return false;
    if (await hasOpenSteps(core.store, tx, itemId)) return false;
    await updateItem(core.store, tx, { id: itemId, state: 'done', now, result: { outcome, steps: results } });
    await insertEvents(core.store, tx, [
      { workItemId: itemId, stepId: null, type: 'work_item.done', data: { outcome }, at: now },
    ]);
    return true;
  });
  // The last step's hop was recorded before the stream decided to end: close the item's trace now.
  if (finished) core.router.hops.ended?.(itemId);
}
