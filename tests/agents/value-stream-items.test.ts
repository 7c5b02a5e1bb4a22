// What a streamed item's thread sees and when: its first step is a stream step from the moment it can
// be claimed (even before the thread starts), and each edge condition sees the item as it is when the
// step's result comes in, with the attributes earlier steps added.
import { afterEach, describe, expect, it } from 'vitest';
import type { ValueStreamDriver } from '../../agents/value-stream-driver.js';
import { parseConfig } from '../../server/config.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import type { WorkItemRecord } from '../../work/records.js';
import { onPostgres } from '../support/database.js';
import {
  createTestRuntime,
  loadExampleNetwork,
  TEST_ADMIN_KEY,
  type TestRuntime,
} from '../support/runtime.js';
import { call, getItem, stepsOf, submitRefund, work } from './stream-support.js';

let t: TestRuntime | undefined;
const extra: Runtime[] = [];
afterEach(async () => {
  for (const r of extra.splice(0)) await r.telemetry?.shutdown?.();
  await t?.close();
  t = undefined;
});

/** Holds back the start of each item's thread until `release()`; the submission itself is unchanged. */
function holdStarts(runtime: Runtime) {
  const streams = runtime.router.streams!;
  const original = streams.submitted.bind(streams);
  const held: WorkItemRecord[] = [];
  streams.submitted = async (item) => {
    held.push(item);
  };
  return {
    async release() {
      streams.submitted = original;
      for (const item of held.splice(0)) await original(item);
    },
  };
}

describe('the first step of a streamed item', () => {
  it('moves the stream on when it is claimed and completed before the thread starts', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const starts = holdStarts(t.runtime);
    const { id } = await submitRefund(app, { amount: 900, pii: false });
    // A fast claimer: the step is taken and completed before the item's thread exists.
    await work(app, 'support-team', { kind: 'refund' });
    let item = await getItem(app, id);
    expect(item.state).toBe('open');
    expect(item.steps.map((s) => [s.capability, s.state])).toEqual([
      ['intake.triage', 'completed'],
      ['refund.assess', 'queued'],
    ]);
    // The start that was on its way arrives late and changes nothing.
    await starts.release();
    item = await getItem(app, id);
    expect(item.steps).toHaveLength(2);
    const driver = t.runtime.router.streams as ValueStreamDriver;
    expect(await driver.status({ id, kind: 'refund' })).toMatchObject({
      state: 'running',
      waitingOn: [{ key: 'assess#1' }],
    });
  });

  it('is taken on after a restart when the process stopped between the submission and the start', async () => {
    t = await createTestRuntime();
    holdStarts(t.runtime);
    const { id } = await submitRefund(t.runtime.app, { amount: 900, pii: false });

    const store = onPostgres ? await t.database.openAnother() : t.database.store;
    const second = await createRuntime(
      parseConfig({ FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY, FLOWMESH_LOG_LEVEL: 'silent' }),
      { store, clock: t.clock, network: await loadExampleNetwork() },
    );
    extra.push(second);
    const driver = second.router.streams as ValueStreamDriver;
    expect(await driver.status({ id, kind: 'refund' })).toMatchObject({
      state: 'running',
      waitingOn: [{ key: 'triage#1' }],
    });
    await work(second.app, 'support-team', {});
    expect(await stepsOf(second.app, id)).toEqual([
      ['intake.triage', 'completed'],
      ['refund.assess', 'queued'],
    ]);
  });
});

describe('conditions see the item as it is now', () => {
  it('pays a refund without approval when triage found an amount of 500 or less', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    // No amount given: without one, the stream sends a refund to approval.
    const { id } = await submitRefund(app, { pii: false });
    await work(app, 'support-team', {
      kind: 'refund',
      capability: 'refund.assess',
      attributes: { amount: 120, currency: 'EUR' },
      priority: 50,
      confidence: 0.9,
    });
    const item = await getItem(app, id);
    expect(item.attributes).toEqual({ pii: false, amount: 120, currency: 'EUR' });
    await work(app, 'refund-agent', { eligible: true });
    expect((await stepsOf(app, id)).map(([c]) => c)).toEqual([
      'intake.triage',
      'refund.assess',
      'refund.execute',
    ]);
    const events = await call<{ events: { type: string; data: Record<string, unknown> }[] }>(
      app,
      'GET',
      `/v1/work-items/${id}/events`,
    );
    expect(events.body.events.find((e) => e.type === 'work_item.attributes_added')?.data).toEqual({
      streamStep: 'triage#1',
      attributes: { amount: 120, currency: 'EUR' },
    });
  });

  it('keeps the attributes the item was submitted with: triage adds, it does not overwrite', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const { id } = await submitRefund(app, { amount: 900, pii: false });
    await work(app, 'support-team', { attributes: { amount: 120, pii: true, channel: 'email' } });
    expect((await getItem(app, id)).attributes).toEqual({ amount: 900, pii: false, channel: 'email' });
    await work(app, 'refund-agent', { eligible: true });
    expect((await stepsOf(app, id)).at(-1)).toEqual(['refund.approve', 'queued']);
  });

  it('takes the amount the built-in triage agent read from the request text', async () => {
    t = await createTestRuntime();
    const { app } = t.runtime;
    const { id } = await submitRefund(
      app,
      {},
      'I was charged twice for order 1042, please refund the 120 EUR.',
    );
    expect(await t.runtime.agents.tick()).toBe(1);
    expect((await getItem(app, id)).attributes).toMatchObject({ amount: 120 });
    await work(app, 'refund-agent', { eligible: true });
    expect((await stepsOf(app, id)).at(-1)).toEqual(['refund.execute', 'queued']);
  });
});
