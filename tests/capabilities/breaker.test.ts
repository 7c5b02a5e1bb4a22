import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../../capabilities/sweeper.js';
import { listHealth } from '../../store/network.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { act, claim, item, network, submit } from './helpers.js';

const twoAgents = network({
  capabilities: [{ id: 'doc.translate', leaseSeconds: 60, maxAttempts: 50 }],
  nodes: [
    {
      id: 'flaky',
      name: 'Flaky agent',
      kind: 'ai_agent',
      capacity: 5,
      capabilities: [{ capability: 'doc.translate' }],
    },
    {
      id: 'steady',
      name: 'Steady agent',
      kind: 'ai_agent',
      capacity: 5,
      capabilities: [{ capability: 'doc.translate' }],
    },
  ],
});

let t: TestRuntime;
afterEach(async () => {
  await t?.close();
});

describe('circuit breaker', () => {
  it('skips a node whose failure rate crossed the threshold and sends its queued work to the others', async () => {
    t = await createTestRuntime({ network: twoAgents });
    const s = await submit(t, 'doc.translate');
    // Defaults: at least 5 outcomes in the window, 50 % failures.
    for (let i = 0; i < 4; i++) {
      const c = await claim(t, 'flaky');
      expect((await act(t, 'fail', c!, { reason: 'model timeout', retryable: true })).status).toBe(200);
    }
    expect((await runSweep(t.runtime)).tripped).toEqual([]);
    const fifth = await claim(t, 'flaky');
    await act(t, 'fail', fifth!, { reason: 'model timeout', retryable: true });

    const report = await runSweep(t.runtime);
    expect(report.tripped).toEqual(['flaky']);
    const step = (await item(t, s.id)).steps[0];
    expect(step?.eligibleNodes).toEqual(['steady']);
    expect(step?.exclusions).toMatchObject([{ nodeId: 'flaky', reason: 'circuit_open' }]);
    expect(await claim(t, 'flaky')).toBeUndefined();
    const nodes = await t.request<{ nodes: { id: string; health: { state: string } }[] }>('GET', '/v1/nodes');
    expect(nodes.body.nodes.find((n) => n.id === 'flaky')?.health.state).toBe('circuit_open');
    // New work is routed around it too.
    const next = await submit(t, 'doc.translate');
    expect((await item(t, next.id)).steps[0]?.eligibleNodes).toEqual(['steady']);
    expect((await claim(t, 'steady'))?.workItem.id).toBe(s.id);
  });

  it('takes the node back after the cool-down', async () => {
    t = await createTestRuntime({ network: twoAgents });
    const s = await submit(t, 'doc.translate');
    for (let i = 0; i < 5; i++) {
      const c = await claim(t, 'flaky');
      await act(t, 'fail', c!, { reason: 'model timeout', retryable: true });
    }
    expect((await runSweep(t.runtime)).tripped).toEqual(['flaky']);
    t.clock.advance(121_000);
    expect((await runSweep(t.runtime)).recovered).toEqual(['flaky']);
    expect((await item(t, s.id)).steps[0]?.eligibleNodes).toEqual(['flaky', 'steady']);
    expect((await claim(t, 'flaky'))?.workItem.id).toBe(s.id);
  });

  it('does not trip a node that mostly succeeds', async () => {
    t = await createTestRuntime({ network: twoAgents });
    for (let i = 0; i < 8; i++) {
      await submit(t, 'doc.translate');
      const c = await claim(t, 'flaky');
      if (i < 3) await act(t, 'fail', c!, { reason: 'oops', retryable: true });
      else await act(t, 'complete', c!, { result: 'ok' });
    }
    expect((await runSweep(t.runtime)).tripped).toEqual([]);
  });

  it('counts completions in memory and writes them in windows that follow the clock', async () => {
    t = await createTestRuntime({ network: twoAgents });
    for (let i = 0; i < 3; i++) {
      await submit(t, 'doc.translate');
      await act(t, 'complete', (await claim(t, 'steady'))!, { result: 'ok' });
    }
    expect(t.runtime.router.outcomes.pending()).toBe(3);
    await t.runtime.router.outcomes.flush();
    expect(t.runtime.router.outcomes.pending()).toBe(0);
    const health = async () =>
      (await listHealth(t.runtime.store, t.runtime.store.db)).find((h) => h.nodeId === 'steady');
    expect(await health()).toMatchObject({ successes: 3, failures: 0, windowStartedAt: t.clock.now() });
    // Past the window (300 s by default) a new one starts with the next outcome.
    t.clock.advance(301_000);
    await submit(t, 'doc.translate');
    await act(t, 'complete', (await claim(t, 'steady'))!, { result: 'ok' });
    await t.runtime.router.outcomes.flush();
    expect(await health()).toMatchObject({ successes: 1, failures: 0, windowStartedAt: t.clock.now() });
  });
});
