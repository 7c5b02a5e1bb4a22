// Idempotency-Key on POST /v1/work-items: a replay returns the stored first response, a different body
// is refused, a duplicate still in flight gets 409, keys are per caller and kept at least 24 hours.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteExpiredIdempotencyKeys, reserveIdempotencyKey } from '../../store/idempotency.js';
import { canonicalJson, sha256Hex } from '../../work/hash.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

interface Item {
  id: string;
  state: string;
  [key: string]: unknown;
}
interface Problem {
  code: string;
  detail: string;
}

const HOUR = 3600 * 1000;
const BODY = { kind: 'refund', capability: 'refund.assess', attributes: { amount: 42 } };

let t: TestRuntime;
let submitter: { id: string; key: string };
beforeAll(async () => {
  t = await createTestRuntime();
  submitter = await t.createKey('submitter');
});
afterAll(async () => {
  await t?.close();
});

let n = 0;
const newKey = () => `order-1042-attempt-${++n}`;

function post(key: string, body: unknown = BODY, apiKey = submitter.key) {
  return t.request<Item & Problem>('POST', '/v1/work-items', {
    key: apiKey,
    body,
    headers: { 'idempotency-key': key },
  });
}

async function countItems(): Promise<number> {
  const res = await t.request<{ items: unknown[] }>('GET', '/v1/work-items?limit=200');
  return res.body.items.length;
}

describe('Idempotency-Key', () => {
  it('replays the stored first response with 200 and Idempotent-Replayed: true', async () => {
    const key = newKey();
    const first = await post(key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const before = await countItems();

    const replay = await post(key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await countItems()).toBe(before);
  });

  it('replays the first response even after the item has changed', async () => {
    const key = newKey();
    const first = await post(key);
    expect((await t.request('POST', `/v1/work-items/${first.body.id}/cancel`)).status).toBe(200);
    const replay = await post(key);
    expect(replay.status).toBe(200);
    expect(replay.body.state).toBe('open');
    expect(replay.body).toEqual(first.body);
  });

  it('treats the same body with keys in another order as the same request', async () => {
    const key = newKey();
    expect((await post(key, { capability: 'refund.assess', kind: 'refund' })).status).toBe(201);
    expect((await post(key, { kind: 'refund', capability: 'refund.assess' })).status).toBe(200);
  });

  it('answers 422 when the same key comes with a different body', async () => {
    const key = newKey();
    expect((await post(key)).status).toBe(201);
    const res = await post(key, { ...BODY, attributes: { amount: 43 } });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('idempotency_mismatch');
    expect(res.body.detail).toContain(key);
  });

  it('answers 409 while a request with the same key is still in flight', async () => {
    const key = newKey();
    // Reserve the key the way the first request does, and leave it in flight.
    const reservation = await reserveIdempotencyKey(t.runtime.store, {
      scope: submitter.id,
      key,
      requestHash: await sha256Hex(canonicalJson(BODY)),
      now: t.clock.now(),
      ttlMs: 24 * HOUR,
      staleAfterMs: 60_000,
    });
    expect(reservation.outcome).toBe('reserved');

    const res = await post(key);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('idempotency_in_flight');

    const other = await post(key, { ...BODY, title: 'something else' });
    expect(other.status).toBe(422);
  });

  it('takes over a reservation whose request never finished, once it is stale', async () => {
    const key = newKey();
    await reserveIdempotencyKey(t.runtime.store, {
      scope: submitter.id,
      key,
      requestHash: await sha256Hex(canonicalJson(BODY)),
      now: t.clock.now(),
      ttlMs: 24 * HOUR,
      staleAfterMs: 60_000,
    });
    expect((await post(key)).status).toBe(409);
    t.clock.advance(61_000);
    expect((await post(key)).status).toBe(201);
  });

  it('scopes keys to the caller: two callers may use the same key', async () => {
    const key = newKey();
    const other = await t.createKey('submitter');
    const a = await post(key);
    const b = await post(key, BODY, other.key);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
  });

  it('lets a request without a key create a new item every time', async () => {
    const a = await t.request<Item>('POST', '/v1/work-items', { key: submitter.key, body: BODY });
    const b = await t.request<Item>('POST', '/v1/work-items', { key: submitter.key, body: BODY });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('releases the key when the request fails, so a corrected retry may use it', async () => {
    const key = newKey();
    const bad = await post(key, { kind: 'refund', capability: 'refund.nothing' });
    expect(bad.status).toBe(422);
    expect((await post(key)).status).toBe(201);
  });
});

describe('keeping and sweeping keys', () => {
  const stored = async (key: string) =>
    (
      await t.runtime.store.rows(
        sql`select 1 from idempotency_keys where scope = ${submitter.id} and key = ${key}`,
      )
    ).length;

  it('keeps a key for 24 hours and lets the sweep delete it after that', async () => {
    const key = newKey();
    const first = await post(key);
    expect(first.status).toBe(201);

    t.clock.advance(24 * HOUR - 1000);
    await deleteExpiredIdempotencyKeys(t.runtime.store.db, t.clock.now());
    expect(await stored(key)).toBe(1);
    expect((await post(key)).status).toBe(200);

    t.clock.advance(2000);
    expect(await deleteExpiredIdempotencyKeys(t.runtime.store.db, t.clock.now())).toBeGreaterThanOrEqual(1);
    expect(await stored(key)).toBe(0);
    const again = await post(key, { ...BODY, title: 'a new request' });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
  });
});
