// The README's operator walkthrough, end to end on the example network: nobody may take a step, an
// operator finds the escalation, re-routes it, and watches the item move on over /v1/events.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sseReader } from '../events/sse-client.js';
import { createTestRuntime, TEST_ADMIN_KEY, type TestRuntime } from '../support/runtime.js';
import type { EscalationBody, ItemBody } from './helpers.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

it('lists a no_capable_node escalation, resolves it by re-routing, and the item moves on over /v1/events', async () => {
  const operator = await t.createKey('operator');
  const away = await t.request('POST', '/v1/nodes/support-team/availability', {
    key: operator.key,
    body: { availability: 'away' },
  });
  expect(away.status).toBe(200);

  const stream = sseReader(
    await t.runtime.app.request('/v1/events?type=step.*,escalation.*,work_item.*', {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    }),
  );

  const submitted = await t.request<ItemBody>('POST', '/v1/work-items', {
    body: { kind: 'incident', title: 'Checkout is down', capability: 'incident.triage', priority: 90 },
  });
  expect(submitted.status).toBe(201);
  const itemId = submitted.body.id;

  const queue = await t.request<{ escalations: EscalationBody[] }>(
    'GET',
    '/v1/escalations?state=open&kind=no_capable_node',
    { key: operator.key },
  );
  const escalation = queue.body.escalations.find((e) => e.workItemId === itemId);
  expect(escalation?.reason).toMatch(/incident\.triage/);

  const resolved = await t.request<EscalationBody>('POST', `/v1/escalations/${escalation?.id}/resolve`, {
    key: operator.key,
    body: { action: 'reroute', capability: 'intake.triage', note: 'support is away; triage takes it' },
  });
  expect(resolved.status).toBe(200);

  // The triage agent claims the re-routed step.
  const claimed = await t.request<{ step: { capability: string } }>('POST', '/v1/nodes/triage-agent/claims', {
    key: operator.key,
  });
  expect(claimed.status).toBe(200);
  expect(claimed.body.step.capability).toBe('intake.triage');

  const seen: string[] = [];
  while (!seen.includes('step.claimed')) {
    const [m] = await stream.take(1);
    if (m && (JSON.parse(m.data) as { workItemId: string }).workItemId === itemId) seen.push(m.event ?? '');
  }
  await stream.drop();
  expect(seen).toEqual([
    'work_item.created',
    'step.queued',
    'step.unroutable',
    'escalation.opened',
    'step.rerouted',
    'step.queued',
    'escalation.resolved',
    'step.claimed',
  ]);
});
