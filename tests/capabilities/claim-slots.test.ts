// Claim slots: a node with a large capacity is claimed for in several slots at once (each with its own
// lock and share of the capacity); what it holds in all slots together never passes its capacity.
import { sql } from 'drizzle-orm';
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

const operator: Principal = { id: 'test:operator', name: 'operator', role: 'operator', nodeId: null };

function slotNetwork(capacity: number) {
  return network({
    capabilities: [{ id: 'doc.review', leaseSeconds: 300 }],
    nodes: [
      {
        id: 'fleet',
        name: 'Agent fleet',
        kind: 'ai_agent',
        capacity,
        capabilities: [{ capability: 'doc.review' }],
      },
    ],
  });
}

async function queue(runtime: Runtime, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, k) =>
        submitWorkItem(runtime, operator, {
          kind: 'test',
          capability: 'doc.review',
          priority: (i + k) % 100,
        }),
      ),
    );
  }
}

async function slotsUsed(t: TestRuntime): Promise<number[]> {
  const rows = await t.runtime.store.rows<{ claim_slot: number }>(
    sql`select distinct claim_slot from steps where state = 'claimed' and node_id = 'fleet' order by 1`,
  );
  return rows.map((r) => Number(r.claim_slot));
}

describe('claim slots', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    // 300 / 128 = 2 slots of 150.
    t = await createTestRuntime({ network: slotNetwork(300) });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('fills every slot and stops at the capacity, not one step past it', async () => {
    await queue(t.runtime, 340);
    let held = 0;
    for (let round = 0; round < 10; round++) {
      held += (await claimSteps(t.runtime, operator, { nodeId: 'fleet', max: 100 })).length;
    }
    expect(held).toBe(300);
    expect((await countHeld(t.runtime.store, t.runtime.store.db)).get('fleet')).toBe(300);
    expect(await slotsUsed(t)).toEqual([0, 1]);
    expect(await claimSteps(t.runtime, operator, { nodeId: 'fleet', max: 5 })).toEqual([]);
  }, 60_000);
});

describe.skipIf(!onPostgres)('claim slots under concurrency (PostgreSQL)', () => {
  let t: TestRuntime;
  let second: Runtime;
  const capacity = 1024; // 8 slots of 128
  beforeAll(async () => {
    t = await createTestRuntime({ network: slotNetwork(capacity) });
    second = await createRuntime(parseConfig({ FLOWMESH_LOG_LEVEL: 'silent' }), {
      store: await t.database.openAnother({ poolSize: 10 }),
      clock: t.clock,
      network: slotNetwork(capacity),
      policies: [],
    });
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  it('never passes the capacity or claims a step twice with 20 claimers on two instances', async () => {
    const total = 1500;
    await queue(t.runtime, total);
    const seen = new Set<string>();
    let duplicates = 0;
    const held: Claim[] = [];
    let heldPeak = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        const n = (await countHeld(t.runtime.store, t.runtime.store.db)).get('fleet') ?? 0;
        heldPeak = Math.max(heldPeak, n);
      }
    })();
    // Claim without completing until the node is full, so the capacity is what stops the claimers.
    const claimer = async (n: number) => {
      const runtime = n % 2 === 0 ? t.runtime : second;
      // A claim may come back empty while the slots with room are being claimed in by others.
      for (let empty = 0; empty < 200 && held.length < capacity; ) {
        const claims = await claimSteps(runtime, operator, { nodeId: 'fleet', max: 40 });
        if (claims.length === 0) {
          empty++;
          continue;
        }
        for (const c of claims) {
          if (seen.has(c.step.id)) duplicates++;
          seen.add(c.step.id);
          held.push(c);
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, n) => claimer(n)));
    running = false;
    await sampler;
    expect(duplicates).toBe(0);
    expect(held).toHaveLength(capacity);
    expect(heldPeak).toBeLessThanOrEqual(capacity);
    expect((await slotsUsed(t)).length).toBe(8);
    expect(await claimSteps(second, operator, { nodeId: 'fleet', max: 5 })).toEqual([]);

    // Completing frees room in the slots the completed steps were claimed in.
    for (const c of held.slice(0, 30)) {
      await completeStep(t.runtime, operator, {
        workItemId: c.workItem.id,
        stepId: c.step.id,
        leaseToken: c.lease.token,
        result: null,
      });
    }
    let more = 0;
    for (let round = 0; round < 40 && more < 30; round++) {
      more += (await claimSteps(second, operator, { nodeId: 'fleet', max: 10 })).length;
    }
    expect(more).toBe(30);
    expect((await countHeld(t.runtime.store, t.runtime.store.db)).get('fleet')).toBe(capacity);
  }, 120_000);
});
