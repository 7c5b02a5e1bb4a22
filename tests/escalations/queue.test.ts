import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import {
  claim,
  type EscalationBody,
  escalationNetwork,
  escalationsOf,
  eventTypes,
  fail,
  item,
  resolve,
  submit,
} from './helpers.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ network: escalationNetwork });
});
afterAll(async () => {
  await t?.close();
});

async function unroutable(): Promise<{ itemId: string; escalation: EscalationBody }> {
  const created = await submit(t, 'legal.check');
  const [escalation] = await escalationsOf(t, created.id);
  if (!escalation) throw new Error('expected a no_capable_node escalation');
  return { itemId: created.id, escalation };
}

/** An item whose only step failed its last attempt: a retries_exhausted escalation. */
async function exhausted(): Promise<{ itemId: string; escalation: EscalationBody }> {
  const created = await submit(t, 'doc.review');
  let c = await claim(t, 'reviewer');
  while (c && c.workItem.id !== created.id) c = await claim(t, 'reviewer');
  if (!c) throw new Error('could not claim');
  expect((await fail(t, c)).status).toBe(200);
  const list = await escalationsOf(t, created.id);
  const escalation = list.find((e) => e.kind === 'retries_exhausted');
  if (!escalation) throw new Error(`expected retries_exhausted, got ${JSON.stringify(list)}`);
  return { itemId: created.id, escalation };
}

describe('the escalation queue', () => {
  it('lists a no_capable_node escalation with its reason, and resolving it by re-routing moves the item on', async () => {
    const { itemId, escalation } = await unroutable();
    expect(escalation).toMatchObject({ kind: 'no_capable_node', severity: 'high', state: 'open' });
    expect(escalation.reason).toMatch(/legal\.check/);
    const queue = await t.request<{ escalations: EscalationBody[] }>(
      'GET',
      '/v1/escalations?kind=no_capable_node',
    );
    expect(queue.body.escalations.map((e) => e.id)).toContain(escalation.id);

    const res = await resolve(t, escalation.id, {
      action: 'reroute',
      capability: 'doc.review',
      note: 'editors can do it',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      state: 'resolved',
      resolution: { action: 'reroute', capability: 'doc.review' },
    });

    const after = await item(t, itemId);
    expect(after.state).toBe('open');
    expect(after.steps.map((s) => [s.capability, s.state, s.routing])).toEqual([
      ['legal.check', 'handed_off', 'unroutable'],
      ['doc.review', 'queued', 'routable'],
    ]);
    expect(await eventTypes(t, itemId)).toEqual(
      expect.arrayContaining(['step.rerouted', 'escalation.resolved']),
    );
    // The work is claimable again.
    let c = await claim(t, 'editors');
    while (c && c.workItem.id !== itemId) c = await claim(t, 'editors');
    expect(c?.step.capability).toBe('doc.review');
  });

  it('re-routes a step to one node that provides its capability', async () => {
    const created = await submit(t, 'doc.review');
    const r = await t.request<EscalationBody>('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'needs a human eye' },
    });
    expect(r.status).toBe(201);
    const res = await resolve(t, r.body.id, { action: 'reroute', nodeId: 'editors' });
    expect(res.status).toBe(200);
    const step = (await item(t, created.id)).steps[0];
    expect(step).toMatchObject({ state: 'queued', routing: 'routable', eligibleNodes: ['editors'] });
  });

  it('refuses to re-route to a node that lacks the capability, naming the field', async () => {
    const { escalation } = await unroutable();
    const res = await resolve(t, escalation.id, { action: 'reroute', nodeId: 'editors' });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toContain('nodeId');
    expect((await t.request<EscalationBody>('GET', `/v1/escalations/${escalation.id}`)).body.state).toBe(
      'open',
    );
  });

  it('answers 409 with the reason when retry cannot route the step yet, and changes nothing', async () => {
    const { itemId, escalation } = await unroutable();
    const res = await resolve(t, escalation.id, { action: 'retry' });
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/still no node may take legal\.check/);
    expect((await item(t, itemId)).steps[0]?.routing).toBe('unroutable');
    expect((await t.request<EscalationBody>('GET', `/v1/escalations/${escalation.id}`)).body.state).toBe(
      'open',
    );
  });

  it('retries an item whose attempts were exhausted: the item reopens with a new attempt at the capability', async () => {
    const { itemId, escalation } = await exhausted();
    expect((await item(t, itemId)).state).toBe('failed');
    const res = await resolve(t, escalation.id, { action: 'retry' });
    expect(res.status).toBe(200);
    const after = await item(t, itemId);
    expect(after.state).toBe('open');
    expect(after.steps.map((s) => [s.capability, s.state])).toEqual([
      ['doc.review', 'failed'],
      ['doc.review', 'queued'],
    ]);
    expect(await eventTypes(t, itemId)).toContain('work_item.reopened');
  });

  it('retries a held step (its node went quiet): the lease is released and the step is queued for its next attempt', async () => {
    const created = await submit(t, 'doc.archive');
    const c = await claim(t, 'archivists');
    expect(c?.workItem.id).toBe(created.id);
    const r = await t.request<EscalationBody>('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'the archivists stopped answering', severity: 'high' },
    });
    const res = await resolve(t, r.body.id, { action: 'retry' });
    expect(res.status).toBe(200);
    const step = (await item(t, created.id)).steps[0];
    expect(step).toMatchObject({ state: 'queued', nodeId: null, attempt: 2 });
    // The old lease is gone: the quiet holder can no longer complete.
    const late = await t.request('POST', `/v1/work-items/${created.id}/complete`, {
      body: { stepId: c?.step.id, leaseToken: c?.lease.token, result: {} },
    });
    expect(late.status).toBe(409);
  });

  it('resolves an acknowledged no_capable_node escalation when a node becomes able to take the step', async () => {
    expect(
      (await t.request('POST', '/v1/nodes/archivists/availability', { body: { availability: 'away' } }))
        .status,
    ).toBe(200);
    const created = await submit(t, 'doc.archive');
    const [e] = await escalationsOf(t, created.id);
    expect(e?.kind).toBe('no_capable_node');
    await t.request('POST', `/v1/escalations/${e?.id}/ack`);
    expect(
      (await t.request('POST', '/v1/nodes/archivists/availability', { body: { availability: 'available' } }))
        .status,
    ).toBe(200);
    const [after] = await escalationsOf(t, created.id);
    expect(after?.state).toBe('resolved');
    expect((await item(t, created.id)).steps[0]?.routing).toBe('routable');
  });

  it('cancels the item', async () => {
    const { itemId, escalation } = await unroutable();
    const res = await resolve(t, escalation.id, { action: 'cancel', note: 'customer withdrew' });
    expect(res.status).toBe(200);
    const after = await item(t, itemId);
    expect(after.state).toBe('cancelled');
    expect(after.steps.every((s) => s.state === 'cancelled')).toBe(true);
  });

  it('approves the escalated step: it completes on the operator’s authority and the item is done', async () => {
    const created = await submit(t, 'doc.publish');
    const r = await t.request<EscalationBody>('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'publishing needs sign-off', severity: 'low' },
    });
    const res = await resolve(t, r.body.id, { action: 'approve', note: 'looks right' });
    expect(res.status).toBe(200);
    const after = await item(t, created.id);
    expect(after.state).toBe('done');
    expect(after.steps[0]?.state).toBe('completed');
  });

  it('rejects: open steps are cancelled and the item fails', async () => {
    const created = await submit(t, 'doc.publish');
    const r = await t.request<EscalationBody>('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'is this allowed?' },
    });
    const res = await resolve(t, r.body.id, { action: 'reject', note: 'not allowed' });
    expect(res.status).toBe(200);
    const after = await item(t, created.id);
    expect(after.state).toBe('failed');
    expect(after.steps[0]?.state).toBe('cancelled');
  });

  it('dismisses without touching the item; resolved escalations leave the default listing', async () => {
    const { itemId, escalation } = await unroutable();
    const before = await item(t, itemId);
    expect((await resolve(t, escalation.id, { action: 'dismiss' })).status).toBe(200);
    expect(await item(t, itemId)).toEqual(before);
    const open = await t.request<{ escalations: EscalationBody[] }>('GET', '/v1/escalations');
    expect(open.body.escalations.map((e) => e.id)).not.toContain(escalation.id);
    const resolved = await t.request<{ escalations: EscalationBody[] }>(
      'GET',
      '/v1/escalations?state=resolved',
    );
    expect(resolved.body.escalations.map((e) => e.id)).toContain(escalation.id);
  });

  it('answers 409 when the item was cancelled meanwhile, for every action that moves work', async () => {
    for (const action of [
      { action: 'retry' },
      { action: 'reroute', capability: 'doc.review' },
      { action: 'cancel' },
      { action: 'approve' },
      { action: 'reject' },
    ]) {
      const { itemId, escalation } = await unroutable();
      expect((await t.request('POST', `/v1/work-items/${itemId}/cancel`, { body: {} })).status).toBe(200);
      const res = await resolve(t, escalation.id, action);
      expect(res.status, action.action).toBe(409);
      expect(res.body.detail, action.action).toMatch(/cancelled/);
      expect((await t.request<EscalationBody>('GET', `/v1/escalations/${escalation.id}`)).body.state).toBe(
        'open',
      );
    }
  });

  it('answers 409 when the escalation was already resolved', async () => {
    const { escalation } = await unroutable();
    expect((await resolve(t, escalation.id, { action: 'dismiss' })).status).toBe(200);
    const again = await resolve(t, escalation.id, { action: 'cancel' });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already resolved \(dismiss/);
    expect((await t.request('POST', `/v1/escalations/${escalation.id}/ack`)).status).toBe(409);
  });

  it('acknowledges (the caller becomes the owner) and assigns', async () => {
    const { escalation } = await unroutable();
    const operator = await t.createKey('operator');
    const ack = await t.request<EscalationBody>('POST', `/v1/escalations/${escalation.id}/ack`, {
      key: operator.key,
    });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ state: 'acknowledged', owner: 'operator key' });
    const assigned = await t.request<EscalationBody>('POST', `/v1/escalations/${escalation.id}/assign`, {
      key: operator.key,
      body: { owner: 'legal-team' },
    });
    expect(assigned.body).toMatchObject({ state: 'acknowledged', owner: 'legal-team' });
    expect(await eventTypes(t, escalation.workItemId)).toEqual(
      expect.arrayContaining(['escalation.acknowledged', 'escalation.assigned']),
    );
  });

  it('orders the queue by severity, then age', async () => {
    const a = await submit(t, 'doc.publish');
    const b = await submit(t, 'doc.publish');
    const c = await submit(t, 'doc.publish');
    const raise = (id: string, severity: string) =>
      t.request<EscalationBody>('POST', `/v1/work-items/${id}/escalate`, {
        body: { reason: 'look', severity },
      });
    const low = await raise(a.id, 'low');
    t.clock.advance(1000);
    const critical = await raise(b.id, 'critical');
    t.clock.advance(1000);
    const low2 = await raise(c.id, 'low');
    const res = await t.request<{ escalations: EscalationBody[] }>(
      'GET',
      '/v1/escalations?kind=agent_escalated&severity=low,critical',
    );
    const ids = res.body.escalations.map((e) => e.id);
    const mine = ids.filter((id) => [low.body.id, critical.body.id, low2.body.id].includes(id));
    expect(mine).toEqual([critical.body.id, low.body.id, low2.body.id]);
    expect(res.body.escalations.every((e) => e.severity === 'low' || e.severity === 'critical')).toBe(true);
  });

  it('lets only operators and admins use the queue', async () => {
    const submitter = await t.createKey('submitter');
    expect((await t.request('GET', '/v1/escalations', { key: submitter.key })).status).toBe(403);
  });

  it('answers 422 naming the field for a reroute without a target or with both', async () => {
    const { escalation } = await unroutable();
    const none = await resolve(t, escalation.id, { action: 'reroute' });
    expect(none.status).toBe(422);
    const both = await resolve(t, escalation.id, {
      action: 'reroute',
      nodeId: 'editors',
      capability: 'doc.review',
    });
    expect(both.status).toBe(422);
    const unknown = await resolve(t, escalation.id, { action: 'escalate-harder' });
    expect(unknown.status).toBe(422);
    expect(JSON.stringify(unknown.body)).toContain('action');
    const bad = await t.request('GET', '/v1/escalations?severity=urgent');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('query.severity');
  });
});

describe('POST /v1/work-items/:id/escalate', () => {
  it('opens one escalation per step and kind: raising it again returns the same one', async () => {
    const created = await submit(t, 'doc.publish');
    const agent = await t.createKey('agent', 'editors');
    const first = await t.request<EscalationBody>('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'unsure about the tone', kind: 'low_confidence', confidence: 0.4 },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      kind: 'low_confidence',
      severity: 'medium',
      stepId: created.steps[0]?.id,
    });
    const again = await t.request<EscalationBody>('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'still unsure', kind: 'low_confidence' },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // An agent that neither submitted nor holds the item does not see it.
    const stranger = await t.request('POST', `/v1/work-items/${created.id}/escalate`, {
      key: agent.key,
      body: { reason: 'x' },
    });
    expect(stranger.status).toBe(404);
  });

  it('answers 409 for an item that is no longer open', async () => {
    const created = await submit(t, 'doc.publish');
    await t.request('POST', `/v1/work-items/${created.id}/cancel`, { body: {} });
    const res = await t.request('POST', `/v1/work-items/${created.id}/escalate`, {
      body: { reason: 'late' },
    });
    expect(res.status).toBe(409);
  });
});
