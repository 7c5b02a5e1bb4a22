import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../../capabilities/sweeper.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { act, claim, escalations, eventTypes, item, network, submit } from './helpers.js';

const small = network({
  capabilities: [
    { id: 'doc.review', leaseSeconds: 120, maxAttempts: 2 },
    { id: 'doc.publish', leaseSeconds: 60 },
  ],
  nodes: [
    {
      id: 'reviewer',
      name: 'Reviewer agent',
      kind: 'ai_agent',
      capacity: 3,
      capabilities: [{ capability: 'doc.review' }],
    },
    {
      id: 'editors',
      name: 'Editors',
      kind: 'human_team',
      capacity: 2,
      capabilities: [{ capability: 'doc.review' }, { capability: 'doc.publish' }],
    },
  ],
});

let t: TestRuntime;
afterEach(async () => {
  await t?.close();
});

describe('claiming', () => {
  it('claims the best step first: priority, then age', async () => {
    t = await createTestRuntime({ network: small });
    const low = await submit(t, 'doc.review', { priority: 10 });
    t.clock.advance(60_000);
    const high = await submit(t, 'doc.review', { priority: 90 });
    t.clock.advance(60_000);
    const mid = await submit(t, 'doc.review', { priority: 50 });
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await claim(t, 'reviewer'))?.workItem.id);
    expect(order).toEqual([high.id, mid.id, low.id]);
  });

  it('ages waiting work so that low priority never starves', async () => {
    t = await createTestRuntime({ network: small });
    const old = await submit(t, 'doc.review', { priority: 0 });
    // 101 minutes of waiting outweigh 100 priority points (one point per minute).
    t.clock.advance(101 * 60_000);
    await submit(t, 'doc.review', { priority: 100 });
    expect((await claim(t, 'reviewer'))?.workItem.id).toBe(old.id);
  });

  it('claims up to max steps in one call, never beyond the free capacity', async () => {
    t = await createTestRuntime({ network: small });
    for (let i = 0; i < 5; i++) await submit(t, 'doc.review');
    const res = await t.request<{ claims: { lease: { token: string } }[] }>(
      'POST',
      '/v1/nodes/reviewer/claims',
      {
        body: { max: 10 },
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.claims).toHaveLength(3);
    expect((await t.request('POST', '/v1/nodes/reviewer/claims', { body: { max: 10 } })).status).toBe(204);
    const nodes = await t.request<{ nodes: { id: string; wip: number; queueDepth: number }[] }>(
      'GET',
      '/v1/nodes',
    );
    expect(nodes.body.nodes.find((n) => n.id === 'reviewer')).toMatchObject({ wip: 3, queueDepth: 2 });
  });

  it('answers 204 when the node has no work', async () => {
    t = await createTestRuntime({ network: small });
    const res = await t.request('POST', '/v1/nodes/reviewer/claims');
    expect(res.status).toBe(204);
  });

  it('completes a claimed step and finishes the item with its result', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review', { title: 'Check the draft' });
    const c = await claim(t, 'reviewer');
    expect(c).toMatchObject({
      workItem: { id: s.id, title: 'Check the draft' },
      step: { id: s.stepId, capability: 'doc.review', state: 'claimed', nodeId: 'reviewer', attempt: 1 },
    });
    expect(new Date(c!.lease.expiresAt).getTime() - t.clock.now().getTime()).toBe(120_000);
    const done = await act(t, 'complete', c!, { result: { verdict: 'ok' }, confidence: 0.9 });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      workItem: { state: 'done', result: { verdict: 'ok' } },
      step: { state: 'completed' },
    });
    expect(await eventTypes(t, s.id)).toEqual([
      'work_item.created',
      'step.queued',
      'step.claimed',
      'step.completed',
      'work_item.done',
    ]);
  });

  it('keeps a result that is a JSON string, and reads the item back afterwards', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    const c = await claim(t, 'reviewer');
    const done = await act(t, 'complete', c!, { result: 'Nine to five.' });
    expect(done.status).toBe(200);
    const read = await item(t, s.id);
    expect(read.state).toBe('done');
    expect(read.steps[0]).toMatchObject({ state: 'completed' });
    const again = await t.request<{ result: unknown; steps: { result: unknown }[] }>(
      'GET',
      `/v1/work-items/${s.id}`,
    );
    expect(again.body.result).toBe('Nine to five.');
    expect(again.body.steps[0]?.result).toBe('Nine to five.');
    // Locking the step again reads its stored result: a repeated complete is a conflict, not a crash.
    const repeat = await act(t, 'complete', c!, { result: 'Nine to five.' });
    expect(repeat.status).toBe(409);
  });

  it('hands off: closes the step and routes a new one at the other capability', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    const c = await claim(t, 'reviewer');
    const res = await act(t, 'handoff', c!, {
      capability: 'doc.publish',
      reason: 'reviewed, ready to publish',
    });
    expect(res.status).toBe(200);
    const view = await item(t, s.id);
    expect(view.steps.map((x) => [x.capability, x.state])).toEqual([
      ['doc.review', 'handed_off'],
      ['doc.publish', 'queued'],
    ]);
    expect(view.steps[1]?.eligibleNodes).toEqual(['editors']);
    expect((await claim(t, 'editors'))?.step.capability).toBe('doc.publish');
  });
});

describe('leases', () => {
  it('refuses a stale lease token with 409 lease_lost and changes nothing', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    const first = await claim(t, 'reviewer');
    expect((await act(t, 'fail', first!, { reason: 'flaky tool', retryable: true })).status).toBe(200);
    const second = await claim(t, 'reviewer');
    expect(second?.step.attempt).toBe(2);

    const stale = await act(t, 'complete', first!, { result: 'late' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ type: '/problems/lease_lost', code: 'lease_lost' });
    const foreign = await act(t, 'complete', {
      ...second!,
      lease: { ...second!.lease, token: crypto.randomUUID() },
    });
    expect(foreign.status).toBe(409);

    const view = await item(t, s.id);
    expect(view.state).toBe('open');
    expect(view.steps[0]).toMatchObject({ state: 'claimed', attempt: 2, nodeId: 'reviewer' });
    expect((await act(t, 'complete', second!, { result: 'ok' })).status).toBe(200);
  });

  it('refuses to complete after the lease expired, even before the sweeper ran', async () => {
    t = await createTestRuntime({ network: small });
    await submit(t, 'doc.review');
    const c = await claim(t, 'reviewer');
    t.clock.advance(120_001);
    expect((await act(t, 'complete', c!, { result: 'late' })).status).toBe(409);
  });

  it('extends the lease with a heartbeat', async () => {
    t = await createTestRuntime({ network: small });
    await submit(t, 'doc.review');
    const c = await claim(t, 'reviewer');
    t.clock.advance(100_000);
    const hb = await act(t, 'heartbeat', c!);
    expect(hb.status).toBe(200);
    expect(hb.body).toEqual({
      lease: { token: c!.lease.token, expiresAt: new Date(t.clock.now().getTime() + 120_000).toISOString() },
    });
    t.clock.advance(100_000);
    expect((await act(t, 'complete', c!, { result: 1 })).status).toBe(200);
  });

  it('returns a step whose lease expired to the queue with the next attempt', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    await claim(t, 'reviewer');
    t.clock.advance(119_000);
    expect((await runSweep(t.runtime)).requeued).toBe(0);
    t.clock.advance(2_000);
    const report = await runSweep(t.runtime);
    expect(report).toMatchObject({ ran: true, requeued: 1, failed: 0 });
    expect((await item(t, s.id)).steps[0]).toMatchObject({ state: 'queued', attempt: 2, nodeId: null });
    expect(await eventTypes(t, s.id)).toContain('step.requeued');
    expect((await claim(t, 'editors'))?.step.attempt).toBe(2);
  });

  it('fails the step past maxAttempts and writes a retries_exhausted escalation', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect((await claim(t, 'reviewer'))?.step.attempt).toBe(attempt);
      t.clock.advance(121_000);
      await runSweep(t.runtime);
    }
    const view = await item(t, s.id);
    expect(view.state).toBe('failed');
    expect(view.steps[0]).toMatchObject({ state: 'failed', attempt: 2 });
    const list = await escalations(t, s.id);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'retries_exhausted', state: 'open', stepId: s.stepId });
    expect(list[0]?.reason).toContain('2 of 2 attempts');
    expect(await eventTypes(t, s.id)).toEqual(
      expect.arrayContaining(['step.failed', 'work_item.failed', 'escalation.opened']),
    );
  });

  it('fails the item at once on a failure that may not be retried', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    const c = await claim(t, 'reviewer');
    const res = await act(t, 'fail', c!, {
      reason: 'document is not in a language we review',
      retryable: false,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ requeued: false, workItem: { state: 'failed' } });
    expect((await escalations(t, s.id)).map((e) => e.kind)).toEqual(['step_failed']);
  });
});

describe('bad claims and actions', () => {
  it('answers 404 for an unknown node', async () => {
    t = await createTestRuntime({ network: small });
    const res = await t.request('POST', '/v1/nodes/nobody/claims');
    expect(res.status).toBe(404);
  });

  it("answers 403 when an agent key claims for another node, and for a submitter's key", async () => {
    t = await createTestRuntime({ network: small });
    const agent = await t.createKey('agent', 'reviewer');
    const submitter = await t.createKey('submitter');
    expect((await t.request('POST', '/v1/nodes/editors/claims', { key: agent.key })).status).toBe(403);
    expect((await t.request('POST', '/v1/nodes/reviewer/claims', { key: submitter.key })).status).toBe(403);
    expect((await t.request('POST', '/v1/nodes/reviewer/claims', { key: agent.key })).status).toBe(204);
  });

  it("answers 403 when an agent key acts on another node's step", async () => {
    t = await createTestRuntime({ network: small });
    await submit(t, 'doc.review');
    const c = await claim(t, 'editors');
    const agent = await t.createKey('agent', 'reviewer');
    expect((await act(t, 'complete', c!, { result: 1 }, agent.key)).status).toBe(403);
  });

  it('answers 400 and 422 for malformed claims and actions, naming the field', async () => {
    t = await createTestRuntime({ network: small });
    const bad = async (
      path: string,
      init: { body?: unknown; raw?: string },
      status: number,
      field?: string,
    ) => {
      const res = await t.request<{ errors?: { path: string }[] }>('POST', path, {
        ...init,
        ...(init.raw ? { headers: { 'content-type': 'application/json' } } : {}),
      });
      expect(res.status, `${path} ${JSON.stringify(init)}`).toBe(status);
      if (field) expect(res.body.errors?.map((e) => e.path)).toContain(field);
    };
    await bad('/v1/nodes/reviewer/claims', { raw: '{"max":' }, 400);
    await bad('/v1/nodes/reviewer/claims', { body: { max: 0 } }, 422, 'max');
    await bad('/v1/nodes/reviewer/claims', { body: { max: 'many' } }, 422, 'max');
    await bad('/v1/nodes/reviewer/claims', { body: { wait: 3600 } }, 422, 'wait');
    await bad('/v1/nodes/reviewer/claims', { body: { node: 'x' } }, 422, 'node');
    await bad('/v1/nodes/Not%20A%20Node/claims', {}, 400, 'path.id');
    const s = await submit(t, 'doc.review');
    await bad(`/v1/work-items/${s.id}/complete`, { body: { leaseToken: 'x' } }, 422, 'stepId');
    await bad(`/v1/work-items/${s.id}/fail`, { body: { stepId: s.stepId, leaseToken: 'x' } }, 422, 'reason');
    await bad(
      `/v1/work-items/${s.id}/handoff`,
      { body: { stepId: s.stepId, leaseToken: 'x', capability: 'Not Valid', reason: 'r' } },
      422,
      'capability',
    );
    await bad(
      `/v1/work-items/${s.id}/handoff`,
      { body: { stepId: s.stepId, leaseToken: 'x', capability: 'no.such', reason: 'r' } },
      422,
      'capability',
    );
    await bad('/v1/work-items/not-a-uuid/complete', { body: { stepId: s.stepId, leaseToken: 'x' } }, 400);
    await bad(
      `/v1/work-items/${s.id}/complete`,
      { body: { stepId: crypto.randomUUID(), leaseToken: 'x' } },
      404,
    );
    await bad(`/v1/work-items/${s.id}/complete`, { body: { stepId: s.stepId, leaseToken: 'x' } }, 409);
  });
});

describe('long-poll', () => {
  it('wakes a waiting claim when a step it may take is queued', async () => {
    t = await createTestRuntime({ network: small });
    // The wait is longer than this test's timeout: only a wake-up lets it pass.
    const waiting = t.request<{ workItem: { id: string } }>('POST', '/v1/nodes/reviewer/claims', {
      body: { wait: 60 },
    });
    await new Promise((r) => setImmediate(r));
    await submit(t, 'doc.publish'); // not for this node: keeps waiting
    const s = await submit(t, 'doc.review');
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.workItem.id).toBe(s.id);
    // 45 s < the 60 s wait, so only a wake-up passes; the margin covers a slow database copy under load.
  }, 45_000);

  it('takes a step queued while its look at the queue was in flight, without waiting out the wait', async () => {
    t = await createTestRuntime({ network: small });
    // The first look finds the queue empty; before its answer comes back, a step is submitted. The
    // wake-up for that step fired while nobody waited: the claim must still see it and look again.
    const claims = t.runtime.router.claims;
    let submitted: Promise<{ id: string }> | undefined;
    const claimBatch = claims.claim.bind(claims);
    claims.claim = async (request) => {
      const found = await claimBatch(request);
      if (!submitted) {
        submitted = submit(t, 'doc.review');
        await submitted;
      }
      return found;
    };
    const res = await t.request<{ workItem: { id: string } }>('POST', '/v1/nodes/reviewer/claims', {
      body: { wait: 60 },
    });
    expect(res.status).toBe(200);
    expect(res.body.workItem.id).toBe((await submitted)?.id);
  }, 45_000);
});
