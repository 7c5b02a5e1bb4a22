import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../../capabilities/sweeper.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { act, claim, escalations, eventTypes, item, submit } from './helpers.js';

// The example network: refund.assess goes to refund-agent, and to billing-team after 600 s;
// incident.triage only to support-team; intake.triage to support-team and triage-agent.
let t: TestRuntime;
afterEach(async () => {
  await t?.close();
});

const setAvailability = (nodeId: string, availability: string, key?: string) =>
  t.request('POST', `/v1/nodes/${nodeId}/availability`, { body: { availability }, ...(key ? { key } : {}) });

describe('eligibility', () => {
  it('records the eligible nodes of a step and why each other capable node was left out', async () => {
    t = await createTestRuntime();
    const s = await submit(t, 'refund.assess');
    const step = (await item(t, s.id)).steps[0];
    expect(step).toMatchObject({ routing: 'routable', eligibleNodes: ['refund-agent'] });
    expect(step?.exclusions).toEqual([
      { nodeId: 'billing-team', reason: 'fallback_tier', detail: 'may claim after the step waited 600 s' },
    ]);
  });

  it('marks a step no node may take unroutable and writes a no_capable_node escalation with the reason', async () => {
    t = await createTestRuntime();
    expect((await setAvailability('support-team', 'away')).status).toBe(200);
    const s = await submit(t, 'incident.triage');
    const step = (await item(t, s.id)).steps[0];
    expect(step).toMatchObject({
      routing: 'unroutable',
      eligibleNodes: [],
      exclusions: [{ nodeId: 'support-team', reason: 'away' }],
    });
    const list = await escalations(t, s.id);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'no_capable_node', state: 'open', stepId: s.stepId });
    expect(list[0]?.reason).toBe('no node may take incident.triage: support-team away');
    expect(await eventTypes(t, s.id)).toEqual([
      'work_item.created',
      'step.queued',
      'step.unroutable',
      'escalation.opened',
    ]);
    const caps = await t.request<{ capabilities: { id: string; unroutable: number; queueDepth: number }[] }>(
      'GET',
      '/v1/capabilities',
    );
    expect(caps.body.capabilities.find((c) => c.id === 'incident.triage')).toMatchObject({
      unroutable: 1,
      queueDepth: 0,
    });
  });

  it('routes the step again when a capable node comes back, and resolves the escalation', async () => {
    t = await createTestRuntime();
    await setAvailability('support-team', 'away');
    const s = await submit(t, 'incident.triage');
    await setAvailability('support-team', 'available');
    expect((await item(t, s.id)).steps[0]).toMatchObject({
      routing: 'routable',
      eligibleNodes: ['support-team'],
    });
    expect((await escalations(t, s.id))[0]?.state).toBe('resolved');
    expect((await claim(t, 'support-team'))?.workItem.id).toBe(s.id);
  });

  it('re-routes queued work to a node created through the API, and away again when it is deleted', async () => {
    t = await createTestRuntime();
    await setAvailability('support-team', 'away');
    const s = await submit(t, 'incident.triage');
    const put = await t.request('PUT', '/v1/nodes/incident-bot', {
      body: {
        name: 'Incident bot',
        kind: 'ai_agent',
        capacity: 2,
        capabilities: [{ capability: 'incident.triage', proficiency: 0.5 }],
      },
    });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ id: 'incident-bot', wip: 0, queueDepth: 1, health: { state: 'ok' } });
    expect((await item(t, s.id)).steps[0]?.eligibleNodes).toEqual(['incident-bot']);
    const bot = await t.createKey('agent', 'incident-bot');
    expect((await claim(t, 'incident-bot', { key: bot.key }))?.workItem.id).toBe(s.id);
    const held = await t.request<{ nodes: { id: string; wip: number }[] }>('GET', '/v1/nodes');
    expect(held.body.nodes.find((n) => n.id === 'incident-bot')?.wip).toBe(1);
    expect((await t.request('DELETE', '/v1/nodes/incident-bot')).status).toBe(204);
    expect((await t.request('GET', '/v1/nodes/incident-bot')).status).toBe(404);
    expect((await item(t, s.id)).steps[0]?.routing).toBe('unroutable');
    const list = await escalations(t, s.id);
    expect(list.map((e) => [e.kind, e.state])).toEqual([
      ['no_capable_node', 'resolved'],
      ['no_capable_node', 'open'],
    ]);
  });

  it('refuses a node that names an unknown capability, naming the field', async () => {
    t = await createTestRuntime();
    const res = await t.request<{ errors: { path: string }[] }>('PUT', '/v1/nodes/x-bot', {
      body: { name: 'X', kind: 'ai_agent', capacity: 1, capabilities: [{ capability: 'no.such' }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e) => e.path)).toEqual(['capabilities[0].capability']);
    const bad = await t.request<{ errors: { path: string }[] }>('PUT', '/v1/nodes/x-bot', {
      body: { name: 'X', kind: 'robot', capacity: 0, capabilities: [] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e) => e.path).sort()).toEqual(['capabilities', 'capacity', 'kind']);
  });

  it('lets only operators and admins manage nodes', async () => {
    t = await createTestRuntime();
    const agent = await t.createKey('agent', 'triage-agent');
    const submitter = await t.createKey('submitter');
    const operator = await t.createKey('operator');
    expect((await setAvailability('triage-agent', 'away', agent.key)).status).toBe(403);
    expect((await setAvailability('triage-agent', 'away', submitter.key)).status).toBe(403);
    expect((await t.request('DELETE', '/v1/nodes/triage-agent', { key: agent.key })).status).toBe(403);
    expect((await setAvailability('triage-agent', 'away', operator.key)).status).toBe(200);
    const nodes = await t.request<{ nodes: { id: string; availability: string }[] }>('GET', '/v1/nodes', {
      key: agent.key,
    });
    expect(nodes.body.nodes.find((n) => n.id === 'triage-agent')?.availability).toBe('away');
  });
});

describe('draining', () => {
  it('lets a draining node finish what it holds and gives it nothing new', async () => {
    t = await createTestRuntime();
    const first = await submit(t, 'intake.triage');
    const held = await claim(t, 'triage-agent');
    expect(held?.workItem.id).toBe(first.id);
    expect((await setAvailability('triage-agent', 'draining')).status).toBe(200);
    const second = await submit(t, 'intake.triage');
    expect((await item(t, second.id)).steps[0]?.exclusions).toEqual([
      { nodeId: 'triage-agent', reason: 'draining' },
    ]);
    expect(await claim(t, 'triage-agent')).toBeUndefined();
    expect((await act(t, 'complete', held!, { result: { kind: 'refund' } })).status).toBe(200);
    expect((await claim(t, 'support-team'))?.workItem.id).toBe(second.id);
  });
});

describe('fallback tiers', () => {
  it('lets the fallback tier claim after the wait threshold, and records the widening as an event', async () => {
    t = await createTestRuntime();
    const s = await submit(t, 'refund.assess');
    expect(await claim(t, 'billing-team')).toBeUndefined();
    t.clock.advance(599_000);
    expect((await runSweep(t.runtime)).widened).toBe(0);
    expect(await claim(t, 'billing-team')).toBeUndefined();
    t.clock.advance(2_000);
    expect((await runSweep(t.runtime)).widened).toBe(1);
    expect((await item(t, s.id)).steps[0]?.eligibleNodes.sort()).toEqual(['billing-team', 'refund-agent']);
    expect(await eventTypes(t, s.id)).toContain('step.widened');
    expect((await claim(t, 'billing-team'))?.workItem.id).toBe(s.id);
  });

  it('widens at once when the first tier has no eligible node', async () => {
    t = await createTestRuntime();
    await setAvailability('refund-agent', 'away');
    const s = await submit(t, 'refund.assess');
    expect((await item(t, s.id)).steps[0]).toMatchObject({
      routing: 'routable',
      eligibleNodes: ['billing-team'],
    });
    expect(await eventTypes(t, s.id)).toContain('step.widened');
    expect(await escalations(t, s.id)).toEqual([]);
  });
});
