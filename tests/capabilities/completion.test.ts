import { afterEach, describe, expect, it } from 'vitest';
import { writeCompletion } from '../../store/completion.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { act, claim, eventTypes, item, network, submit } from './helpers.js';

const small = network({
  capabilities: [
    { id: 'doc.review', leaseSeconds: 120 },
    { id: 'doc.publish', leaseSeconds: 60 },
  ],
  nodes: [
    {
      id: 'reviewer',
      name: 'Reviewer agent',
      kind: 'ai_agent',
      capacity: 3,
      capabilities: [{ capability: 'doc.review' }, { capability: 'doc.publish' }],
    },
  ],
});

let t: TestRuntime;
afterEach(async () => {
  await t?.close();
});

async function count(t: TestRuntime, table: 'events' | 'decisions', itemId: string): Promise<number> {
  const [row] = await t.runtime.store.query<{ n: number }>(
    `select count(*)::int as n from ${table} where work_item_id = $1::uuid`,
    [itemId],
  );
  return Number(row?.n);
}

describe('completion', () => {
  it('answers with the item as it is stored, every step included', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review', { title: 'Two steps' });
    const first = await claim(t, 'reviewer');
    await act(t, 'handoff', first!, { capability: 'doc.publish', reason: 'reviewed' });
    const second = await claim(t, 'reviewer');
    const done = await act(t, 'complete', second!, { result: { published: true, at: 'home' } });
    expect(done.status).toBe(200);
    const stored = await t.request('GET', `/v1/work-items/${s.id}`);
    expect(done.body.workItem).toEqual(stored.body);
    expect(done.body.step).toEqual((stored.body.steps as unknown[])[1]);
    expect(await eventTypes(t, s.id)).toEqual([
      'work_item.created',
      'step.queued',
      'step.claimed',
      'step.queued',
      'step.handed_off',
      'step.claimed',
      'step.completed',
      'work_item.done',
    ]);
  });

  it('completes a claim made by another instance (not in memory here) the same way', async () => {
    t = await createTestRuntime({ network: small });
    const here = await submit(t, 'doc.review', { priority: 90 });
    const elsewhere = await submit(t, 'doc.review', { priority: 10 });
    const a = await claim(t, 'reviewer');
    const b = await claim(t, 'reviewer');
    expect([a?.workItem.id, b?.workItem.id]).toEqual([here.id, elsewhere.id]);
    expect(t.runtime.router.claimed.size()).toBe(2);
    t.runtime.router.claimed.forget(b!.step.id);
    const results = [
      await act(t, 'complete', a!, { result: { n: 1 } }),
      await act(t, 'complete', b!, { result: { n: 1 } }),
    ];
    expect(t.runtime.router.claimed.size()).toBe(0);
    for (const [i, id] of [here.id, elsewhere.id].entries()) {
      expect(results[i]?.status).toBe(200);
      const stored = await t.request('GET', `/v1/work-items/${id}`);
      expect(results[i]?.body.workItem).toEqual(stored.body);
      expect(await eventTypes(t, id)).toEqual([
        'work_item.created',
        'step.queued',
        'step.claimed',
        'step.completed',
        'work_item.done',
      ]);
      expect(await count(t, 'decisions', id)).toBe(3);
    }
  });

  it('writes nothing when the lease is gone by the time the write runs', async () => {
    t = await createTestRuntime({ network: small });
    const s = await submit(t, 'doc.review');
    const c = await claim(t, 'reviewer');
    const events = await count(t, 'events', s.id);
    const decisions = await count(t, 'decisions', s.id);
    const now = t.clock.now();
    const write = (leaseToken: string, at: Date) =>
      writeCompletion(t.runtime.store, {
        workItemId: s.id,
        stepId: c!.step.id,
        leaseToken,
        now: at,
        result: 'late',
        finishItem: { result: 'late' },
        events: [{ workItemId: s.id, stepId: c!.step.id, type: 'step.completed', data: {}, at }],
        decision: {
          id: crypto.randomUUID(),
          workItemId: s.id,
          stepId: c!.step.id,
          hook: 'complete',
          outcome: 'continued',
          policyVersion: 'v',
          ruleIds: [],
          details: {},
          at,
        },
      });
    // Another holder's token, then this lease after it ran out.
    expect(await write(crypto.randomUUID(), now)).toEqual({ written: false });
    expect(await write(c!.lease.token, new Date(now.getTime() + 121_000))).toEqual({ written: false });
    expect(await count(t, 'events', s.id)).toBe(events);
    expect(await count(t, 'decisions', s.id)).toBe(decisions);
    const view = await item(t, s.id);
    expect(view.state).toBe('open');
    expect(view.steps[0]).toMatchObject({ state: 'claimed', nodeId: 'reviewer' });
    // Nor when a policy requirement or a value stream appeared since a claim made here was read.
    await t.runtime.store.query(
      `insert into policy_requirements (step_id, work_item_id, rule_id, capability, origin_step_id, policy_version, created_at)
        values ($1::uuid, $2::uuid, 'r', 'doc.review', $1::uuid, 'v', now())`,
      [crypto.randomUUID(), s.id],
    );
    const unread = await writeCompletion(t.runtime.store, {
      workItemId: s.id,
      stepId: c!.step.id,
      leaseToken: c!.lease.token,
      now,
      result: 'late',
      finishItem: { result: 'late' },
      events: [],
      decision: undefined,
      unread: true,
    });
    expect(unread).toEqual({ written: false });
    expect((await item(t, s.id)).steps[0]).toMatchObject({ state: 'claimed' });
    // The holder still completes.
    expect((await act(t, 'complete', c!, { result: 'ok' })).status).toBe(200);
    expect((await item(t, s.id)).state).toBe('done');
  });
});
