// Concurrency claims are proven on real PostgreSQL (PGlite is one connection): two instances on one
// database, 20 claimers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Claim, claimSteps } from '../../capabilities/claims.js';
import { completeStep } from '../../capabilities/leases.js';
import { submitWorkItem } from '../../capabilities/work-items.js';
import { parseConfig } from '../../server/config.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import { countHeld } from '../../store/router.js';
import type { Principal } from '../../work/principal.js';
import { onPostgres } from '../support/database.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { network } from './helpers.js';

const net = network({
  capabilities: [{ id: 'doc.review', leaseSeconds: 300 }],
  nodes: [
    {
      id: 'pool',
      name: 'Review pool',
      kind: 'ai_agent',
      capacity: 7,
      capabilities: [{ capability: 'doc.review' }],
    },
  ],
});
const operator: Principal = { id: 'test:operator', name: 'operator', role: 'operator', nodeId: null };

describe.skipIf(!onPostgres)('claims under concurrency (PostgreSQL)', () => {
  let t: TestRuntime;
  let second: Runtime;
  beforeAll(async () => {
    t = await createTestRuntime({ network: net });
    second = await createRuntime(parseConfig({ FLOWMESH_LOG_LEVEL: 'silent' }), {
      store: await t.database.openAnother({ poolSize: 10 }),
      clock: t.clock,
      network: net,
      policies: [],
    });
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  it('never exceeds capacity and never claims a step twice with 20 concurrent claimers on two instances', async () => {
    const total = 120;
    for (let i = 0; i < total; i++) {
      await submitWorkItem(t.runtime, operator, {
        kind: 'test',
        capability: 'doc.review',
        priority: i % 100,
      });
    }
    const seen = new Set<string>();
    let inFlight = 0;
    let peak = 0;
    let duplicates = 0;
    const claimer = async (n: number) => {
      const runtime = n % 2 === 0 ? t.runtime : second;
      for (;;) {
        const claims: Claim[] = await claimSteps(runtime, operator, { nodeId: 'pool', max: 3 });
        if (claims.length === 0) {
          if (seen.size >= total) return;
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        for (const c of claims) {
          if (seen.has(c.step.id)) duplicates++;
          seen.add(c.step.id);
        }
        inFlight += claims.length;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        for (const c of claims) {
          inFlight--;
          await completeStep(runtime, operator, {
            workItemId: c.workItem.id,
            stepId: c.step.id,
            leaseToken: c.lease.token,
            result: { by: n },
          });
        }
      }
    };
    // Sample what the database says the node holds while the claimers run.
    let heldPeak = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        const held = await countHeld(t.runtime.store, t.runtime.store.db);
        heldPeak = Math.max(heldPeak, held.get('pool') ?? 0);
      }
    })();
    await Promise.all(Array.from({ length: 20 }, (_, n) => claimer(n)));
    running = false;
    await sampler;
    expect(heldPeak).toBeLessThanOrEqual(7);
    expect(duplicates).toBe(0);
    expect(seen.size).toBe(total);
    expect(peak).toBeLessThanOrEqual(7);
    expect(peak).toBeGreaterThan(1);
  }, 120_000);

  it('wakes a claimer waiting on one instance when a step is queued on the other (LISTEN/NOTIFY)', async () => {
    const waiting = claimSteps(second, operator, { nodeId: 'pool', waitSeconds: 60 });
    await new Promise((r) => setTimeout(r, 200));
    const created = await submitWorkItem(t.runtime, operator, { kind: 'test', capability: 'doc.review' });
    const claims = await waiting;
    expect(claims[0]?.workItem.id).toBe(created.kind === 'created' ? created.item.id : '');
  }, 30_000);
});
