// Bearer API keys and roles: 401 without a valid live key, 403 for the wrong role, submitters see only
// their own items, agent keys are bound to a node that exists.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}
interface Item {
  id: string;
}

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

const SUBMISSION = { kind: 'refund', capability: 'refund.assess' };

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate when no key is sent', async () => {
    const res = await t.request<Problem>('GET', '/v1/work-items', { key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="flowmesh"');
    expect(res.body.code).toBe('unauthorized');
    expect(res.body.detail).toContain('Authorization: Bearer');
  });

  it('answers 401 for an unknown key', async () => {
    const res = await t.request<Problem>('GET', '/v1/work-items', { key: 'fm_not-a-real-key' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('answers 401 for a header that is not a bearer token', async () => {
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer a b',
      'test-admin-key-0123456789abcdef',
    ]) {
      const res = await t.request('GET', '/v1/work-items', { key: null, headers: { authorization } });
      expect(res.status, authorization).toBe(401);
    }
  });

  it('accepts FLOWMESH_ADMIN_KEY as an admin key', async () => {
    expect((await t.request('GET', '/v1/work-items')).status).toBe(200);
  });

  it('answers 401 for a key once it is revoked, at once', async () => {
    const created = await t.createKey('submitter');
    expect((await t.request('GET', '/v1/work-items', { key: created.key })).status).toBe(200);
    expect((await t.request('DELETE', `/v1/api-keys/${created.id}`)).status).toBe(204);
    const res = await t.request<Problem>('GET', '/v1/work-items', { key: created.key });
    expect(res.status).toBe(401);
    expect(res.body.detail).toContain('revoked');
  });

  it('leaves the system routes open', async () => {
    expect((await t.request('GET', '/healthz', { key: null })).status).toBe(200);
    expect((await t.request('GET', '/openapi.json', { key: null })).status).toBe(200);
  });
});

describe('roles', () => {
  it('answers 403 naming the roles when a submitter tries to create a key', async () => {
    const submitter = await t.createKey('submitter');
    const res = await t.request<Problem>('POST', '/v1/api-keys', {
      key: submitter.key,
      body: { name: 'mine', role: 'admin' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('forbidden');
    expect(res.body.detail).toContain('role submitter');
  });

  it('answers 403 when an operator tries to revoke a key', async () => {
    const operator = await t.createKey('operator');
    const other = await t.createKey('submitter');
    const res = await t.request('DELETE', `/v1/api-keys/${other.id}`, { key: operator.key });
    expect(res.status).toBe(403);
    expect((await t.request('GET', '/v1/work-items', { key: other.key })).status).toBe(200);
  });

  it('answers 403 when an agent tries to cancel an item', async () => {
    const agent = await t.createKey('agent', 'refund-agent');
    const item = await t.request<Item>('POST', '/v1/work-items', { body: SUBMISSION });
    const res = await t.request('POST', `/v1/work-items/${item.body.id}/cancel`, { key: agent.key });
    expect(res.status).toBe(403);
  });

  it('lets submitters, operators and agents submit', async () => {
    for (const [role, node] of [['submitter'], ['operator'], ['agent', 'refund-agent']] as const) {
      const k = await t.createKey(role, node);
      const res = await t.request('POST', '/v1/work-items', { key: k.key, body: SUBMISSION });
      expect(res.status, role).toBe(201);
    }
  });
});

describe('who sees which items', () => {
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let aliceItem: Item;
  beforeAll(async () => {
    alice = await t.createKey('submitter');
    bob = await t.createKey('submitter');
    aliceItem = (await t.request<Item>('POST', '/v1/work-items', { key: alice.key, body: SUBMISSION })).body;
  });

  it('shows a submitter its own items', async () => {
    expect((await t.request('GET', `/v1/work-items/${aliceItem.id}`, { key: alice.key })).status).toBe(200);
    const list = await t.request<{ items: Item[] }>('GET', '/v1/work-items', { key: alice.key });
    expect(list.body.items.map((i) => i.id)).toEqual([aliceItem.id]);
  });

  it('hides another submitter’s item as if it did not exist', async () => {
    const read = await t.request<Problem>('GET', `/v1/work-items/${aliceItem.id}`, { key: bob.key });
    expect(read.status).toBe(404);
    expect((await t.request('GET', `/v1/work-items/${aliceItem.id}/events`, { key: bob.key })).status).toBe(
      404,
    );
    expect((await t.request('POST', `/v1/work-items/${aliceItem.id}/cancel`, { key: bob.key })).status).toBe(
      404,
    );
    const list = await t.request<{ items: Item[] }>('GET', '/v1/work-items', { key: bob.key });
    expect(list.body.items).toEqual([]);
  });

  it('shows operators and admins every item', async () => {
    const operator = await t.createKey('operator');
    for (const key of [operator.key, undefined]) {
      expect((await t.request('GET', `/v1/work-items/${aliceItem.id}`, { key })).status).toBe(200);
      const list = await t.request<{ items: Item[] }>('GET', '/v1/work-items?limit=200', { key });
      expect(list.body.items.map((i) => i.id)).toContain(aliceItem.id);
    }
  });
});

describe('POST /v1/api-keys and DELETE /v1/api-keys/:id', () => {
  it('returns the secret once, with the key’s id, role and prefix', async () => {
    const res = await t.request<Record<string, unknown>>('POST', '/v1/api-keys', {
      body: { name: 'ops dashboard', role: 'operator' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'ops dashboard', role: 'operator', nodeId: null });
    const key = res.body.key as string;
    expect(key).toMatch(/^fm_[A-Za-z0-9_-]{40}$/);
    expect(key.startsWith(res.body.prefix as string)).toBe(true);
    expect((await t.request('GET', '/v1/work-items', { key })).status).toBe(200);
  });

  it('stores only a hash of the secret', async () => {
    const created = await t.createKey('submitter');
    const rows = await t.runtime.store.rows<{ hash: string }>(
      sql`select hash from api_keys where id = ${created.id}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hash).not.toContain(created.key);
    expect(rows[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('binds an agent key to a node of the network', async () => {
    const res = await t.request<Record<string, unknown>>('POST', '/v1/api-keys', {
      body: { name: 'refund agent', role: 'agent', nodeId: 'refund-agent' },
    });
    expect(res.status).toBe(201);
    expect(res.body.nodeId).toBe('refund-agent');
  });

  it.each([
    [{ name: 'ghost', role: 'agent', nodeId: 'no-such-node' }, 'nodeId', 'unknown node no-such-node'],
    [{ name: 'nameless', role: 'agent' }, 'nodeId', 'agent keys must name the node they act for'],
    [
      { name: 'odd', role: 'submitter', nodeId: 'refund-agent' },
      'nodeId',
      'only agent keys are bound to a node',
    ],
    [{ name: 'root', role: 'root' }, 'role', undefined],
    [{ role: 'operator' }, 'name', 'required'],
  ])('refuses %j naming %s', async (body, path, message) => {
    const res = await t.request<Problem>('POST', '/v1/api-keys', { body });
    expect(res.status).toBe(422);
    expect(res.body.errors?.map((e) => e.path)).toEqual([path]);
    if (message) expect(res.body.errors?.[0]?.message).toBe(message);
  });

  it('answers 404 when revoking a key that does not exist or is already revoked', async () => {
    const created = await t.createKey('submitter');
    expect((await t.request('DELETE', `/v1/api-keys/${created.id}`)).status).toBe(204);
    const again = await t.request<Problem>('DELETE', `/v1/api-keys/${created.id}`);
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect((await t.request('DELETE', '/v1/api-keys/01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d')).status).toBe(404);
  });
});
