// The refund value stream of the example network, run by a test runtime through the HTTP API: the same
// claim / complete routes every node uses, the stream deciding each next step, and a restart mid-stream.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import { onPostgres } from '../support/database.js';
import {
  createTestRuntime,
  loadExampleNetwork,
  TEST_ADMIN_KEY,
  type TestRuntime,
} from '../support/runtime.js';
import {
  type ClaimBody,
  call,
  getItem,
  type ItemBody,
  submitRefund as submitWith,
  work,
} from './stream-support.js';

const submitRefund = (app: Runtime['app'], amount: number) =>
  submitWith(app, { amount, pii: false }, `Please refund ${amount} EUR for order 1042.`);

let t: TestRuntime | undefined;
const extra: Runtime[] = [];
afterEach(async () => {
  for (const r of extra.splice(0)) await r.telemetry?.shutdown?.();
  await t?.close();
  t = undefined;
});

describe('the refund value stream, end to end', () => {
  it('starts at triage when the item names no capability', async () => {
    t = await createTestRuntime();
    const item = await submitRefund(t.runtime.app, 900);
    expect(item.steps.map((s) => s.capability)).toEqual(['intake.triage']);
  });

  it('runs triage, assess, approval over 500 and execute, each claimed and completed, then the item is done', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const { id } = await submitRefund(app, 900);
    expect((await work(app, 'support-team', { kind: 'refund', confidence: 0.9 })).step.capability).toBe(
      'intake.triage',
    );
    expect((await work(app, 'refund-agent', { eligible: true })).step.capability).toBe('refund.assess');
    expect((await work(app, 'billing-team', { decision: 'approve' })).step.capability).toBe('refund.approve');
    expect((await getItem(app, id)).state).toBe('open');
    expect((await work(app, 'billing-team', { paid: true })).step.capability).toBe('refund.execute');

    const item = await getItem(app, id);
    expect(item.state).toBe('done');
    expect(item.result?.outcome).toBe('completed');
    // One approval: the policy that requires it for refunds over 500 is met by the stream's own step.
    expect(item.steps.map((s) => s.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'refund.approve',
      'refund.execute',
    ]);
    expect(item.steps.every((s) => s.state === 'completed')).toBe(true);

    // The realized map, rebuilt from hop spans, shows every step of the stream.
    await t.runtime.telemetry.flushStore();
    const map = await call<unknown>(app, 'GET', '/v1/value-streams/refund');
    expect(map.status).toBe(200);
    const text = JSON.stringify(map.body);
    for (const capability of ['intake.triage', 'refund.assess', 'refund.approve', 'refund.execute']) {
      expect(text).toContain(capability);
    }
  });

  it('pays a refund of 500 or less without approval', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const { id } = await submitRefund(app, 120);
    await work(app, 'support-team', {});
    await work(app, 'refund-agent', { eligible: true });
    expect((await work(app, 'billing-team', { paid: true })).step.capability).toBe('refund.execute');
    expect((await getItem(app, id)).state).toBe('done');
  });

  it('ends rejected when the approver rejects, and nothing is paid', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const { id } = await submitRefund(app, 900);
    await work(app, 'support-team', {});
    await work(app, 'refund-agent', { eligible: true });
    await work(app, 'billing-team', { decision: 'reject' });
    const item = await getItem(app, id);
    expect(item.state).toBe('done');
    expect(item.result?.outcome).toBe('rejected');
    expect(item.steps.map((s) => s.capability)).not.toContain('refund.execute');
  });

  it('survives a restart in the middle: a new runtime on the same database goes on, no step twice, none skipped', async () => {
    t = await createTestRuntime();
    const first = t.runtime;
    const { id } = await submitRefund(first.app, 900);
    await work(first.app, 'support-team', {});
    await work(first.app, 'refund-agent', { eligible: true });
    // The process dies right after the approval commits, before its stream moves on.
    first.router.streams!.stepCompleted = async () => {
      throw new Error('process stopped');
    };
    await work(first.app, 'billing-team', { decision: 'approve' });
    expect((await getItem(first.app, id)).steps.map((s) => s.capability)).not.toContain('refund.execute');

    const store = onPostgres ? await t.database.openAnother() : t.database.store;
    const second = await createRuntime(
      parseConfig({ FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY, FLOWMESH_LOG_LEVEL: 'silent' }),
      {
        store,
        clock: t.clock,
        network: await loadExampleNetwork(),
      },
    );
    extra.push(second);
    // Starting took the stream on: the approval's result moved it to execute.
    const resumed = await getItem(second.app, id);
    expect(resumed.steps.map((s) => s.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'refund.approve',
      'refund.execute',
    ]);
    await work(second.app, 'billing-team', { paid: true });
    const item = await getItem(second.app, id);
    expect(item.state).toBe('done');
    expect(item.result?.outcome).toBe('completed');
    expect(item.steps).toHaveLength(4);
  });

  it('goes on when a stream step is handed off and the step it was handed to completes', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const { id } = await submitRefund(app, 900);
    await work(app, 'support-team', {});
    const claimed = await call<ClaimBody>(app, 'POST', '/v1/nodes/refund-agent/claims', {});
    expect(claimed.body.step.capability).toBe('refund.assess');
    const handoff = await call(app, 'POST', `/v1/work-items/${id}/handoff`, {
      stepId: claimed.body.step.id,
      leaseToken: claimed.body.lease.token,
      capability: 'quality.review',
      reason: 'needs a second look before the refund is assessed',
    });
    expect(handoff.status, JSON.stringify(handoff.body)).toBe(200);
    expect((await work(app, 'quality-team', { eligible: true })).step.capability).toBe('quality.review');
    const item = await getItem(app, id);
    expect(item.steps.map((s) => s.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'quality.review',
      'refund.approve',
    ]);
  });

  it('treats an item that names its capability as a single step, as for kinds without a stream', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const res = await call<ItemBody>(app, 'POST', '/v1/work-items', {
      kind: 'refund',
      capability: 'refund.assess',
      attributes: { amount: 90 },
    });
    expect(res.status).toBe(201);
    await work(app, 'refund-agent', { eligible: true });
    const item = await getItem(app, res.body.id);
    expect(item.state).toBe('done');
    expect(item.steps.map((s) => s.capability)).toEqual(['refund.assess']);
  });
});
