// How value streams meet the router. The stream driver (agents/value-stream-driver.ts, on LangGraph)
// plugs in as `router.streams`; the router calls it after a submission and after a completion commits.
// The driver resumes an item's thread inside one transaction that holds the item's lock, and routes
// each stream step, and each step a policy required of it, through the functions here on that
// transaction: an ordinary router step, once per key.

import type { Database } from '../store/database.js';
import { insertRequirements } from '../store/decisions.js';
import { insertEvents, nextSeq, updateItem } from '../store/router.js';
import { bindStreamStep, findStreamStepId, hasOpenSteps } from '../store/stream-steps.js';
import { addWorkItemAttributes, findWorkItem } from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import type { JsonObject, JsonValue } from '../work/json.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import { AttributesSchema } from '../work/work-item.js';
import type { Core } from './core.js';
import { insertRoutedStep, type RoutedStep } from './router.js';

export interface StreamHook {
  /**
   * When items of this kind follow a value stream: the capability of its first step, and the key that
   * binds the step made at submission to the stream (written with the submission).
   */
  firstStep(kind: string): { capability: string; key: string } | undefined;
  /** True when the item follows a value stream (it was submitted without a capability). */
  follows(db: Database, itemId: string): Promise<boolean>;
  /** After a submission of a streamed kind committed: start the item's thread. */
  submitted(item: WorkItemRecord): Promise<void>;
  /** After a step of a streamed item completed (committed): resume the thread with its result. */
  stepCompleted(item: WorkItemRecord, step: StepRecord, result: JsonValue | null): Promise<void>;
}

/** A step a completion policy required, routed by the stream as a gate before its next step. */
export interface StreamRequirement {
  ruleId: string;
  reason: string;
  policyVersion: string;
  /** The router step whose completion required it. */
  originStepId: string;
}

export interface StreamStepRoute {
  itemId: string;
  /** `<stream step>#<visit>`, or `<stream step>#<visit>><rule id>` for a step a policy required. */
  key: string;
  capability: string;
  requirement?: StreamRequirement | undefined;
}

/**
 * Routes one stream step on `tx` (which the caller commits, then publishes `routed`). Idempotent by
 * key: routing a key again returns the step it made. `stepId` is undefined when the item is not open.
 */
export async function routeStreamStep(
  core: Core,
  tx: Database,
  route: StreamStepRoute,
): Promise<{ stepId: string | undefined; routed: RoutedStep[] }> {
  const now = core.clock.now();
  const item = await findWorkItem(tx, route.itemId, { forUpdate: true });
  if (!item) throw new FlowmeshError('not_found', `work item ${route.itemId} does not exist`);
  if (item.state !== 'open') return { stepId: undefined, routed: [] };
  const bound = await findStreamStepId(core.store, tx, item.id, route.key);
  if (bound) return { stepId: bound, routed: [] };
  const seq = await nextSeq(core.store, tx, item.id);
  const requirement = route.requirement;
  const r = await insertRoutedStep(core, tx, {
    item,
    capability: route.capability,
    seq,
    now,
    data: requirement
      ? { streamStep: route.key, requiredBy: requirement.ruleId, reason: requirement.reason }
      : { streamStep: route.key },
  });
  await bindStreamStep(core.store, tx, { workItemId: item.id, stepKey: route.key, stepId: r.step.id });
  if (requirement) {
    // The same record a required step of an item without a stream has: its completion must answer
    // {approved, note?}, and not approved rejects the item.
    await insertRequirements(core.store, tx, [
      {
        stepId: r.step.id,
        workItemId: item.id,
        ruleId: requirement.ruleId,
        capability: route.capability,
        originStepId: requirement.originStepId,
        policyVersion: requirement.policyVersion,
        createdAt: now,
      },
    ]);
  }
  return { stepId: r.step.id, routed: [r] };
}

/**
 * Adds attributes a stream step set to the item (read on `tx` for update); ones the item already has
 * keep their value, so a step can fill in facts but not change the ones policies were applied to.
 * Returns the item as it is now (unchanged when nothing is new or the attributes would not be valid).
 */
export async function addStreamAttributes(
  core: Core,
  tx: Database,
  item: WorkItemRecord,
  attributes: JsonObject,
  from: string,
): Promise<WorkItemRecord> {
  if (item.state !== 'open') return item;
  const itemId = item.id;
  const current = item.attributes;
  const added = Object.fromEntries(Object.entries(attributes).filter(([k]) => !Object.hasOwn(current, k)));
  if (Object.keys(added).length === 0) return item;
  const valid = AttributesSchema.safeParse({ ...current, ...added });
  if (!valid.success) {
    core.logger.warn('value stream step set attributes that are not valid; none added', {
      workItemId: itemId,
      streamStep: from,
      error: valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
    return item;
  }
  const now = core.clock.now();
  const merged = await addWorkItemAttributes(core.store, tx, { id: itemId, attributes: added, now });
  if (!merged) return item;
  await insertEvents(core.store, tx, [
    {
      workItemId: itemId,
      stepId: null,
      type: 'work_item.attributes_added',
      data: { streamStep: from, attributes: added },
      at: now,
    },
  ]);
  return { ...item, attributes: merged as JsonObject, updatedAt: now };
}

/**
 * The stream ended: the item is done, with the stream's outcome (`completed`, `rejected`…) as result,
 * once no other step of it is open. An item that is no longer open (a required approval rejected it)
 * stays as it is. True when this ended the item (its trace is closed once the caller commits).
 */
export async function finishStreamItem(
  core: Core,
  tx: Database,
  itemId: string,
  outcome: string,
  results: Record<string, unknown>,
): Promise<boolean> {
  const now = core.clock.now();
  const item = await findWorkItem(tx, itemId, { forUpdate: true });
  if (item?.state !== 'open') return false;
  if (await hasOpenSteps(core.store, tx, itemId)) return false;
  await updateItem(core.store, tx, { id: itemId, state: 'done', now, result: { outcome, steps: results } });
  await insertEvents(core.store, tx, [
    { workItemId: itemId, stepId: null, type: 'work_item.done', data: { outcome }, at: now },
  ]);
  return true;
}
