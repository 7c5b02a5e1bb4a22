import { afterEach, describe, expect, it } from 'vitest';
import { writeCompletion, writeCompletions } from '../../store/completion.js';
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

  it('writes completions that arrive together in one statement, each answered for itself', async () => {
    t = await createTestRuntime({ network: small });
    const items = [
      await submit(t, 'doc.review'),
      await submit(t, 'doc.review'),
      await submit(t, 'doc.review'),
    ];
    const claims = [await claim(t, 'reviewer'), await claim(t, 'reviewer'), await claim(t, 'reviewer')];
    const now = t.clock.now();
    const write = (i: number, leaseToken: string) => ({
      workItemId: claims[i]!.workItem.id,
      stepId: claims[i]!.step.id,
      leaseToken,
      now,
      result: { n: i },
      finishItem: { result: { n: i } },
      events: [],
      decision: undefined,
      unread: true,
    });
    // The middle one with another holder's token: it alone is not written.
    const written = await writeCompletions(t.runtime.store, [
      write(0, claims[0]!.lease.token),
      write(1, crypto.randomUUID()),
      write(2, claims[2]!.lease.token),
    ]);
    expect(written.map((w) => w.written)).toEqual([true, false, true]);
    expect(written[0]).toMatchObject({
      written: true,
      steps: [{ id: claims[0]!.step.id, state: 'completed' }],
    });
    expect(written[2]).toMatchObject({
      written: true,
      steps: [{ id: claims[2]!.step.id, state: 'completed' }],
    });
    const states = await Promise.all(items.map(async (s) => (await item(t, s.id)).state));
    const byClaim = claims.map((c) => states[items.findIndex((s) => s.id === c!.workItem.id)]);
    expect(byClaim).toEqual(['done', 'open', 'done']);

    // Through the API, concurrent completions each get their own answer; a stale token still gets 409.
    await submit(t, 'doc.review');
    await submit(t, 'doc.review');
    const held = [claims[1]!, await claim(t, 'reviewer'), await claim(t, 'reviewer')];
    const answers = await Promise.all([
      act(t, 'complete', held[0]!, { result: 'a' }),
      act(
        t,
        'complete',
        { ...held[1]!, lease: { ...held[1]!.lease, token: crypto.randomUUID() } },
        { result: 'b' },
      ),
      act(t, 'complete', held[2]!, { result: 'c' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 409, 200]);
    expect(answers[1]?.body).toMatchObject({ code: 'lease_lost' });
  });

  it('writes a batch in order: each completion its events and decision, a step named twice once', async () => {
    t = await createTestRuntime({ network: small });
    const items = [await submit(t, 'doc.review'), await submit(t, 'doc.review')];
    const claims = [await claim(t, 'reviewer'), await claim(t, 'reviewer')];
    const now = t.clock.now();
    const write = (i: number, result: string) => {
      const c = claims[i]!;
      return {
        workItemId: c.workItem.id,
        stepId: c.step.id,
        leaseToken: c.lease.token,
        now,
        result,
        finishItem: { result },
        events: [
          { workItemId: c.workItem.id, stepId: c.step.id, type: 'step.completed', data: { result }, at: now },
          { workItemId: c.workItem.id, stepId: null, type: 'work_item.done', data: { result }, at: now },
        ],
        decision: {
          id: crypto.randomUUID(),
          workItemId: c.workItem.id,
          stepId: c.step.id,
          hook: 'complete' as const,
          outcome: 'continued',
          policyVersion: 'v-test',
          ruleIds: ['r1', 'r2'],
          details: { result },
          at: now,
        },
        unread: false,
      };
    };
    const before = await Promise.all(items.map((s) => count(t, 'events', s.id)));
    const decided = await Promise.all(items.map((s) => count(t, 'decisions', s.id)));
    // The first claim's step twice: the first of the two completes it, the second finds it completed.
    const written = await writeCompletions(t.runtime.store, [
      write(1, 'b'),
      write(0, 'a'),
      write(0, 'again'),
    ]);
    expect(written.map((w) => w.written)).toEqual([true, true, false]);
    expect(written[1]).toMatchObject({ written: true, steps: [{ id: claims[0]!.step.id, result: 'a' }] });
    const after = await Promise.all(items.map((s) => count(t, 'events', s.id)));
    expect(after.map((n, i) => n - before[i]!)).toEqual([2, 2]);
    const decisions = await Promise.all(items.map((s) => count(t, 'decisions', s.id)));
    expect(decisions.map((n, i) => n - decided[i]!)).toEqual([1, 1]);
    for (const s of items) {
      const mine = claims.findIndex((c) => c!.workItem.id === s.id);
      expect(await item(t, s.id)).toMatchObject({ state: 'done', result: mine === 0 ? 'a' : 'b' });
      expect((await eventTypes(t, s.id)).slice(-2)).toEqual(['step.completed', 'work_item.done']);
    }
    // Events were logged in the batch's order: the second input's before the first's.
    const rows = await t.runtime.store.query<{ work_item_id: string }>(
      `select work_item_id from events where type in ('step.completed', 'work_item.done')
        and data->>'result' is not null order by id`,
      [],
    );
    expect(rows.map((r) => r.work_item_id)).toEqual([
      claims[1]!.workItem.id,
      claims[1]!.workItem.id,
      claims[0]!.workItem.id,
      claims[0]!.workItem.id,
    ]);
    const [decision] = await t.runtime.store.query<{ rule_ids: string[] | string; policy_version: string }>(
      `select rule_ids, policy_version from decisions where work_item_id = $1::uuid and hook = 'complete'`,
      [claims[0]!.workItem.id],
    );
    expect(decision?.policy_version).toBe('v-test');
    expect(String(decision?.rule_ids)).toMatch(/r1.*r2/);
  });
});
