// Every operation of the OpenAPI document, with odd path values, odd query values and odd bodies:
// each answers 2xx or a problem+json 4xx, never a 500. The list of operations comes from the running
// service's own /openapi.json, so a new route is swept without touching this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestResponse, type TestRuntime } from '../support/runtime.js';

interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

const UNKNOWN_ID = '0190f6a2-7c1e-7d3b-9a4e-5f6a7b8c9d0e';

const ODD_PATH_VALUES = [
  'x',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '%00',
  '%E0%A4%A',
  '%F0%9F%92%A9',
  'a'.repeat(500),
  '..%2F..',
  '1e400',
  '%20',
];

const ODD_QUERY_VALUES = [
  '',
  'x',
  '-1',
  '0',
  '1',
  '201',
  '1e400',
  '9'.repeat(40),
  '%00',
  '%E0%A4%A',
  'a'.repeat(3_000),
  // Values a time or id parameter may take, at the edges of what the database stores.
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '%2B275760-09-13T00:00:00.000Z',
  '2026-02-30T00:00:00Z',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
];

/** Bodies no operation takes: each is refused with a 4xx. */
const REFUSED_BODIES = ['', 'null', '[]', '"s"', '1e400', '{"unknown":1}', '{"a":'.repeat(3_000)];
/** Bodies some operation may take (`{}` is a claim with the defaults): never a 500. */
const ODD_BODIES = ['{}', `{"reason":"${'x'.repeat(100_000)}"}`, '{"__proto__":{"admin":true}}'];

let t: TestRuntime;
let operations: { method: string; path: string; op: Operation }[] = [];

beforeAll(async () => {
  t = await createTestRuntime();
  const doc = await t.request<OpenApi>('GET', '/openapi.json');
  operations = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
});

afterAll(async () => {
  await t?.close();
});

/** A live stream (server-sent events) would never end: its own tests read it with a deadline. */
const streams = (op: Operation) =>
  Object.values(op.responses).some((r) => Object.keys(r.content ?? {}).includes('text/event-stream'));

function fill(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

function expectNoServerError(res: TestResponse, what: string): void {
  expect(res.status, `${what} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), `${what} → ${res.status}`).toContain('application/problem+json');
  }
}

describe('every route of the OpenAPI document', () => {
  it('lists the routes this sweep relies on', () => {
    const listed = operations.map((o) => `${o.method} ${o.path}`);
    expect(listed).toEqual(
      expect.arrayContaining([
        'POST /v1/work-items',
        'POST /v1/nodes/{id}/claims',
        'POST /v1/work-items/{id}/complete',
        'PUT /v1/policies',
        'GET /v1/value-streams/{kind}',
      ]),
    );
  });

  it('answers odd path values with a 2xx or a problem+json 4xx', async () => {
    for (const { method, path, op } of operations) {
      if (!path.includes('{') || streams(op)) continue;
      for (const value of ODD_PATH_VALUES) {
        const url = fill(path, value);
        const body = op.requestBody ? { raw: '{}', headers: { 'content-type': 'application/json' } } : {};
        expectNoServerError(await t.request(method, url, body), `${method} ${url.slice(0, 120)}`);
      }
    }
  });

  it('answers odd query values with a 2xx or a problem+json 4xx', async () => {
    for (const { method, path, op } of operations) {
      if (streams(op) || op.requestBody) continue;
      const url = fill(path, UNKNOWN_ID);
      for (const param of (op.parameters ?? []).filter((p) => p.in === 'query')) {
        for (const value of ODD_QUERY_VALUES) {
          const target = `${url}?${param.name}=${value}`;
          expectNoServerError(await t.request(method, target), `${method} ${target.slice(0, 120)}`);
        }
        const twice = `${url}?${param.name}=1&${param.name}=2`;
        expectNoServerError(await t.request(method, twice), `${method} ${twice}`);
      }
    }
  });

  it('answers every role, and no key, with a 2xx or a problem+json 4xx (401 without a key)', async () => {
    const keys = {
      submitter: (await t.createKey('submitter')).key,
      operator: (await t.createKey('operator')).key,
      agent: (await t.createKey('agent', 'triage-agent')).key,
    };
    for (const { method, path, op } of operations) {
      if (streams(op)) continue;
      const url = fill(path, path.startsWith('/v1/nodes/') ? 'support-team' : UNKNOWN_ID);
      const body = op.requestBody ? { raw: '{}', headers: { 'content-type': 'application/json' } } : {};
      for (const [role, key] of Object.entries(keys)) {
        expectNoServerError(await t.request(method, url, { ...body, key }), `${role}: ${method} ${url}`);
      }
      const anonymous = await t.request(method, url, { ...body, key: null });
      expect(anonymous.status, `no key: ${method} ${url}`).toBe(401);
    }
  });

  it('answers odd bodies with a problem+json 4xx, or a 2xx where the body is one it takes', async () => {
    for (const { method, path, op } of operations) {
      if (!op.requestBody) continue;
      const url = fill(path, path.startsWith('/v1/nodes/') ? 'support-team' : UNKNOWN_ID);
      for (const raw of [...REFUSED_BODIES, ...ODD_BODIES]) {
        const what = `${method} ${url} with ${raw.slice(0, 40)}`;
        const res = await t.request(method, url, { raw, headers: { 'content-type': 'application/json' } });
        expectNoServerError(res, what);
        if (REFUSED_BODIES.includes(raw)) {
          expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
        }
      }
      const text = await t.request(method, url, { raw: 'hello', headers: { 'content-type': 'text/plain' } });
      expectNoServerError(text, `${method} ${url} as text/plain`);
      expect(text.status).toBeGreaterThanOrEqual(400);
    }
  });
});
