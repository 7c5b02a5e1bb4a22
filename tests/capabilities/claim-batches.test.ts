// Claim batching: claims for one node that arrive together share one claim statement, and the steps
// it claims are dealt round the callers in rank order, within the node's capacity.
import { afterEach, describe, expect, it } from 'vitest';
import { type Claim, claimSteps } from '../../capabilities/claims.js';
import type { Store } from '../../store/database.js';
import type { Principal } from '../../work/principal.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { network, submit } from './helpers.js';

const operator: Principal = { id: 'test:operator', name: 'operator', role: 'operator', nodeId: null };

function pool(capacity: number) {
  return network({
    capabilities: [{ id: 'doc.review', leaseSeconds: 300 }],
    nodes: [
      {
        id: 'pool',
        name: 'Agent pool',
        kind: 'ai_agent',
        capacity,
        capabilities: [{ capability: 'doc.review' }],
      },
    ],
  });
}

/** Counts the claim statements sent; `failFirst` makes the first one fail before it reaches the database. */
function watchClaims(store: Store, options: { failFirst?: boolean } = {}): { statements: number[] } {
  const seen = { statements: [] as number[] };
  const query = store.query.bind(store);
  let failed = false;
  store.query = async <T>(text: string, params: readonly unknown[]): Promise<T[]> => {
    if (text.includes('flowmesh_claim_items')) {
      if (options.failFirst && !failed) {
        failed = true;
        throw new Error('connection reset');
      }
      const rows = await query<T>(text, params);
      seen.statements.push(rows.length);
      return rows;
    }
    return query<T>(text, params);
  };
  return seen;
}

/** Queues items with priorities 90, 80, … so that their rank order is known. */
async function queue(t: TestRuntime, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await submit(t, 'doc.review', { priority: 90 - i * 10 })).id);
  return ids;
}

const claimAll = (t: TestRuntime, maxes: number[]): Promise<Claim[][]> =>
  Promise.all(maxes.map((max) => claimSteps(t.runtime, operator, { nodeId: 'pool', max })));

let t: TestRuntime;
afterEach(async () => {
  await t?.close();
});

describe('claim batching', () => {
  it('makes the claims that arrive together in one statement and deals the steps round the callers', async () => {
    t = await createTestRuntime({ network: pool(20) });
    const ids = await queue(t, 6);
    const seen = watchClaims(t.runtime.store);
    const [a, b, c] = await claimAll(t, [2, 2, 2]);
    expect(seen.statements).toEqual([6]);
    // Rank order, dealt round: the first caller gets the best step.
    expect(a?.map((x) => x.workItem.id)).toEqual([ids[0], ids[3]]);
    expect(b?.map((x) => x.workItem.id)).toEqual([ids[1], ids[4]]);
    expect(c?.map((x) => x.workItem.id)).toEqual([ids[2], ids[5]]);
    // Every claim holds its own lease.
    const tokens = new Set([a, b, c].flat().map((x) => x?.lease.token));
    expect(tokens.size).toBe(6);
  });

  it('spreads a short queue over the callers instead of filling the first', async () => {
    t = await createTestRuntime({ network: pool(20) });
    await queue(t, 3);
    const shares = await claimAll(t, [5, 5, 5]);
    expect(shares.map((s) => s.length)).toEqual([1, 1, 1]);
  });

  it('gives each caller no more than it asked for', async () => {
    t = await createTestRuntime({ network: pool(20) });
    await queue(t, 6);
    const shares = await claimAll(t, [1, 4, 1]);
    expect(shares.map((s) => s.length)).toEqual([1, 4, 1]);
  });

  it('claims no more than the free capacity for the whole batch', async () => {
    t = await createTestRuntime({ network: pool(3) });
    await queue(t, 6);
    const shares = await claimAll(t, [2, 2, 2, 2]);
    expect(shares.flat()).toHaveLength(3);
    expect(await claimSteps(t.runtime, operator, { nodeId: 'pool', max: 2 })).toEqual([]);
  });

  it('claims again for each caller alone when a shared statement fails', async () => {
    t = await createTestRuntime({ network: pool(20) });
    await queue(t, 4);
    const seen = watchClaims(t.runtime.store, { failFirst: true });
    const shares = await claimAll(t, [1, 1, 1]);
    expect(shares.map((s) => s.length)).toEqual([1, 1, 1]);
    expect(seen.statements).toEqual([1, 1, 1]);
    expect(new Set(shares.flat().map((x) => x.step.id)).size).toBe(3);
  });

  it('drains: resolves once every claim made so far is answered', async () => {
    t = await createTestRuntime({ network: pool(20) });
    await queue(t, 2);
    const claims = t.runtime.router.claims;
    await claims.drain(); // nothing in flight: resolves at once
    const order: string[] = [];
    const request = {
      nodeId: 'pool',
      capabilities: [{ id: 'doc.review', leaseSeconds: 300 }],
      capacity: 20,
      max: 1,
      now: t.clock.now(),
    };
    const pending = [claims.claim(request), claims.claim(request)].map((p) =>
      p.then((steps) => order.push(`claimed ${steps.length}`)),
    );
    await claims.drain();
    order.push('drained');
    expect(order).toEqual(['claimed 1', 'claimed 1', 'drained']);
    await Promise.all(pending);
  });

  it("lets a node's batcher go once its claims are answered", async () => {
    t = await createTestRuntime({ network: pool(20) });
    await queue(t, 3);
    const claims = t.runtime.router.claims;
    expect(claims.active()).toBe(0);
    const first = claimAll(t, [1, 1]);
    expect(claims.active()).toBe(1);
    expect((await first).map((s) => s.length)).toEqual([1, 1]);
    expect(claims.active()).toBe(0);
    // A claim after that gets a new batcher, and claims as before.
    const [again] = await claimAll(t, [5]);
    expect(again).toHaveLength(1);
    expect(claims.active()).toBe(0);
  });
});
