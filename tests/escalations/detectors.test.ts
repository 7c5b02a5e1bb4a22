import { afterEach, describe, expect, it } from 'vitest';
import { runDetectors } from '../../capabilities/escalation-detectors.js';
import type { HopRecord } from '../../capabilities/hooks.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { type Claimed, claim, escalationNetwork, escalationsOf, eventTypes, submit } from './helpers.js';

const MIN = 60_000;
let t: TestRuntime;
afterEach(async () => {
  await t?.close();
});

async function complete(c: Claimed) {
  const res = await t.request('POST', `/v1/work-items/${c.workItem.id}/complete`, {
    body: { stepId: c.step.id, leaseToken: c.lease.token, result: { ok: true } },
  });
  if (res.status !== 200) throw new Error(`complete failed: ${res.status} ${res.text}`);
}

/** History for the value stream: `n` doc.write items that each waited 10 min and took 20 min. */
async function history(n = 5) {
  for (let i = 0; i < n; i++) {
    await submit(t, 'doc.write');
    t.clock.advance(10 * MIN);
    const c = await claim(t, 'editors');
    if (!c) throw new Error('nothing to claim');
    t.clock.advance(20 * MIN);
    await complete(c);
  }
  await t.runtime.telemetry.flushStore();
}

async function kinds(itemId: string) {
  return (await escalationsOf(t, itemId)).map((e) => [e.kind, e.severity, e.state]);
}

describe('detectors', () => {
  it('raises sla_breached once the deadline passed, once per step', async () => {
    t = await createTestRuntime({ network: escalationNetwork });
    const due = new Date(t.clock.now().getTime() + 60 * MIN).toISOString();
    const item = await submit(t, 'doc.write', { dueAt: due });
    await runDetectors(t.runtime);
    expect(await kinds(item.id)).toEqual([]);

    t.clock.advance(61 * MIN);
    const report = await runDetectors(t.runtime);
    expect(report.opened).toEqual([{ kind: 'sla_breached', workItemId: item.id, stepId: item.steps[0]?.id }]);
    expect(await kinds(item.id)).toEqual([['sla_breached', 'critical', 'open']]);
    expect(await eventTypes(t, item.id)).toContain('escalation.opened');

    // Acknowledged is not resolved: the detector does not open a second one.
    const [e] = await escalationsOf(t, item.id);
    await t.request('POST', `/v1/escalations/${e?.id}/ack`);
    t.clock.advance(MIN);
    expect((await runDetectors(t.runtime)).opened).toEqual([]);
    expect(await escalationsOf(t, item.id)).toHaveLength(1);
  });

  it('raises sla_at_risk when now + the value stream p85 passes the deadline, and not without history', async () => {
    t = await createTestRuntime({ network: escalationNetwork });
    const early = await submit(t, 'doc.write', {
      dueAt: new Date(t.clock.now().getTime() + 20 * MIN).toISOString(),
    });
    await runDetectors(t.runtime);
    expect(await kinds(early.id)).toEqual([]); // no history, no estimate
    await t.request('POST', `/v1/work-items/${early.id}/cancel`, { body: {} });

    await history();
    const tight = await submit(t, 'doc.write', {
      dueAt: new Date(t.clock.now().getTime() + 20 * MIN).toISOString(),
    });
    const loose = await submit(t, 'doc.write', {
      dueAt: new Date(t.clock.now().getTime() + 45 * MIN).toISOString(),
    });
    await runDetectors(t.runtime);
    expect(await kinds(tight.id)).toEqual([['sla_at_risk', 'high', 'open']]);
    expect(await kinds(loose.id)).toEqual([]);
    const [e] = await escalationsOf(t, tight.id);
    expect(e?.reason).toMatch(/expected to take 30 min more/);
  });

  it('raises stuck for a step older than its p95 times the factor', async () => {
    t = await createTestRuntime({ network: escalationNetwork });
    await history();
    const item = await submit(t, 'doc.write');
    t.clock.advance(89 * MIN);
    await runDetectors(t.runtime);
    expect(await kinds(item.id)).toEqual([]);
    t.clock.advance(2 * MIN);
    await runDetectors(t.runtime);
    expect(await kinds(item.id)).toEqual([['stuck', 'medium', 'open']]);
  });

  it('raises node_down for a node that holds work and stopped heartbeating, not for one that heartbeats', async () => {
    t = await createTestRuntime({ network: escalationNetwork });
    const quiet = await submit(t, 'doc.publish');
    const cq = await claim(t, 'editors');
    const busy = await submit(t, 'doc.publish');
    const cb = await claim(t, 'editors');
    expect(cq?.workItem.id).toBe(quiet.id);
    expect(cb?.workItem.id).toBe(busy.id);
    // doc.publish leases last 60 s: silence for half of it counts as down.
    t.clock.advance(20_000);
    const hb = await t.request('POST', `/v1/work-items/${busy.id}/heartbeat`, {
      body: { stepId: cb?.step.id, leaseToken: cb?.lease.token },
    });
    expect(hb.status).toBe(200);
    t.clock.advance(15_000);
    const hops: HopRecord[] = [];
    const recorder = t.runtime.router.hops;
    t.runtime.router.hops = { record: (h) => hops.push(h) };
    await runDetectors(t.runtime);
    t.runtime.router.hops = recorder;
    expect(await kinds(quiet.id)).toEqual([['node_down', 'high', 'open']]);
    expect(await kinds(busy.id)).toEqual([]);
    const [e] = await escalationsOf(t, quiet.id);
    expect(e?.reason).toMatch(/node editors/);
    // Each escalation is also a hop of the realized value stream.
    expect(hops).toEqual([
      expect.objectContaining({ hop: 'escalate', outcome: 'node_down', workItemId: quiet.id }),
    ]);
  });
});
