// Resolving an escalation with an action that puts the work back in flow (retry, reroute) or ends it
// (cancel, approve, reject), or with none (dismiss). The action's changes and the resolution commit in
// one transaction; an action that no longer fits the item (cancelled meanwhile, step moved on) is a
// 409 with the reason and changes nothing. The effects of each action are in escalation-effects.ts.
import { updateEscalation } from '../store/escalations.js';
import { insertEvents, lockStep } from '../store/router.js';
import { findWorkItem } from '../store/work-items.js';
import type { ResolveEscalation } from '../work/escalation-actions.js';
import type { JsonObject } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import type { Core } from './core.js';
import { type ActionContext, approve, cancel, reject, reroute, retry, stale } from './escalation-effects.js';
import { type Escalation, getEscalation, lockUnresolved } from './escalation-queue.js';
import { hop, publishRouted, safeRecord } from './router.js';

export async function resolveEscalation(
  core: Core,
  principal: Principal,
  id: string,
  input: ResolveEscalation,
): Promise<Escalation> {
  let ctx: ActionContext | undefined;
  await core.store.transaction(async (tx) => {
    const escalation = await lockUnresolved(core, tx, id);
    const now = core.clock.now();
    const item = await findWorkItem(tx, escalation.workItemId, { forUpdate: true });
    if (!item) throw stale(escalation, `work item ${escalation.workItemId} no longer exists`);
    const held = escalation.stepId
      ? await lockStep(core.store, tx, escalation.workItemId, escalation.stepId)
      : undefined;
    const c: ActionContext = {
      core,
      tx,
      principal,
      escalation,
      item,
      step: held?.step,
      now,
      events: [],
      routed: [],
      hops: [],
      woken: new Set(),
    };
    const note = input.note;
    switch (input.action) {
      case 'retry':
        await retry(c);
        break;
      case 'reroute':
        await reroute(c, { nodeId: input.nodeId, capability: input.capability });
        break;
      case 'cancel':
        await cancel(c, note);
        break;
      case 'approve':
        await approve(c, note);
        break;
      case 'reject':
        await reject(c, note);
        break;
      case 'dismiss':
        break;
    }
    const resolution: JsonObject = {
      action: input.action,
      note: note ?? null,
      by: principal.id,
      at: now.toISOString(),
      ...(input.action === 'reroute'
        ? { nodeId: input.nodeId ?? null, capability: input.capability ?? null }
        : {}),
    };
    await updateEscalation(core.store, tx, id, { state: 'resolved', resolution, now });
    c.events.push({
      workItemId: item.id,
      stepId: escalation.stepId,
      type: 'escalation.resolved',
      data: { escalationId: id, kind: escalation.kind, action: input.action, by: principal.id },
      at: now,
    });
    await insertEvents(core.store, tx, c.events);
    if (c.step && input.action !== 'dismiss') {
      c.hops.push(hop(item, c.step, 'escalate', escalation.createdAt, now, `resolved:${input.action}`));
    }
    ctx = c;
  });
  if (ctx) {
    publishRouted(core, ctx.routed);
    for (const h of ctx.hops) safeRecord(core, h);
    if (ctx.woken.size) core.router.wakeups.queued(ctx.woken);
    // An escalation without a step ends its item with no hop: close the item's trace.
    if (input.action === 'cancel' || input.action === 'reject') core.router.hops.ended?.(ctx.item.id);
  }
  return getEscalation(core, id);
}
