// Bad input of every shape gets a 4xx problem+json that names the field and the reason; never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestResponse, type TestRuntime } from '../support/runtime.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
}

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

const VALID = { kind: 'refund', capability: 'refund.assess' };
const SOME_ID = '01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d';

function expectProblem(res: TestResponse<unknown>, status: number): Problem {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = res.body as Problem;
  expect(body).toMatchObject({
    status,
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
  });
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.instance).toMatch(/^\//);
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

/** Submits `body` and expects 422 whose errors name exactly `paths`. */
async function rejects(body: unknown, paths: string[]): Promise<Problem> {
  const res = await t.request<Problem>('POST', '/v1/work-items', { body });
  const problem = expectProblem(res, 422);
  expect(problem.instance).toBe('/v1/work-items');
  expect(problem.errors?.map((e) => e.path)).toEqual(paths);
  return problem;
}

describe('validation of a submitted work item', () => {
  it('names every missing required field', async () => {
    const p = await rejects({}, ['kind']);
    expect(p.errors?.[0]?.message).toBe('required');
  });

  it.each([
    ['kind', { ...VALID, kind: 5 }],
    ['title', { ...VALID, title: ['a'] }],
    ['priority', { ...VALID, priority: 'high' }],
    ['priority', { ...VALID, priority: 50.5 }],
    ['priority', { ...VALID, priority: 101 }],
    ['priority', { ...VALID, priority: -1 }],
    ['attributes', { ...VALID, attributes: [1, 2] }],
    ['capability', { ...VALID, capability: 'Refund Assess' }],
    ['kind', { ...VALID, kind: 'Refund!' }],
    ['dueAt', { ...VALID, dueAt: 'tomorrow' }],
    ['dueAt', { ...VALID, dueAt: '2026-02-31T10:00:00Z' }],
    ['title', { ...VALID, title: '' }],
    ['title', { ...VALID, title: 'x'.repeat(501) }],
  ])('rejects a wrong type or value in %s', async (path, body) => {
    await rejects(body, [path]);
  });

  it('rejects unknown fields, naming each one', async () => {
    const p = await rejects({ ...VALID, colour: 'red', size: 3 }, ['colour', 'size']);
    expect(p.errors?.every((e) => e.message === 'unknown field')).toBe(true);
  });

  it('rejects a body that is not an object', async () => {
    for (const body of [[VALID], 'refund', 42, null]) {
      const res = await t.request<Problem>('POST', '/v1/work-items', {
        raw: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      const p = expectProblem(res, 422);
      expect(p.errors?.[0]?.path).toBe('(body)');
    }
  });

  it('rejects numbers too large to be finite', async () => {
    const raw = `{"kind":"refund","capability":"refund.assess","attributes":{"amount":1e400}}`;
    const res = await t.request<Problem>('POST', '/v1/work-items', {
      raw,
      headers: { 'content-type': 'application/json' },
    });
    const p = expectProblem(res, 422);
    expect(p.errors).toEqual([{ path: 'attributes.amount', message: 'numbers must be finite' }]);
  });

  it('rejects a priority of 1e400 (Infinity) and of 2^53', async () => {
    for (const priority of ['1e400', '9007199254740993']) {
      const res = await t.request<Problem>('POST', '/v1/work-items', {
        raw: `{"kind":"refund","capability":"refund.assess","priority":${priority}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(expectProblem(res, 422).errors?.map((e) => e.path)).toEqual(['priority']);
    }
  });

  it('rejects NUL characters in strings and keys', async () => {
    const title = await rejects({ ...VALID, title: 'a\u0000b' }, ['title']);
    expect(title.errors?.[0]?.message).toContain('NUL');
    await rejects({ ...VALID, payload: { note: 'x\u0000' } }, ['payload.note']);
    await rejects({ ...VALID, payload: { 'k\u0000': 1 } }, ['payload']);
  });

  it('rejects unpaired UTF-16 surrogates in strings and keys, and keeps paired ones', async () => {
    const title = await rejects({ ...VALID, title: 'a\ud800b' }, ['title']);
    expect(title.errors?.[0]?.message).toContain('surrogate');
    await rejects({ ...VALID, payload: { note: 'x\udc00' } }, ['payload.note']);
    await rejects({ ...VALID, payload: { 'k\ud800': 1 } }, ['payload']);
    const res = await t.request<{ title: string }>('POST', '/v1/work-items', {
      body: { ...VALID, title: 'thumbs \ud83d\udc4d' },
    });
    expect(res.status).toBe(201);
    expect(res.body.title).toBe('thumbs 👍');
  });

  it('rejects nesting deeper than 32 levels, naming where it got too deep', async () => {
    let payload: unknown = 'leaf';
    for (let i = 0; i < 40; i++) payload = { a: payload };
    const p = await rejects({ ...VALID, payload }, [
      'payload.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a',
    ]);
    expect(p.errors?.[0]?.message).toContain('deeper than 32');
  });

  it('survives nesting far deeper than any parser stack', async () => {
    const depth = 100_000;
    const raw = `{"kind":"refund","capability":"refund.assess","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await t.request('POST', '/v1/work-items', {
      raw,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

describe('requests that are not what the API speaks', () => {
  it('answers 400 for malformed JSON', async () => {
    const res = await t.request<Problem>('POST', '/v1/work-items', {
      raw: '{"kind": "refund",',
      headers: { 'content-type': 'application/json' },
    });
    const p = expectProblem(res, 400);
    expect(p.detail).toContain('not valid JSON');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.request<Problem>('POST', '/v1/work-items', {
      raw: 'kind=refund',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(expectProblem(res, 415).detail).toContain('application/x-www-form-urlencoded');
  });

  it('answers 413 for a body over the limit (1 MiB by default)', async () => {
    const raw = JSON.stringify({ ...VALID, payload: 'x'.repeat(1024 * 1024) });
    const res = await t.request<Problem>('POST', '/v1/work-items', {
      raw,
      headers: { 'content-type': 'application/json' },
    });
    expect(expectProblem(res, 413).code).toBe('payload_too_large');
  });

  it('answers 413 even when the client does not announce the length', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ ...VALID, payload: 'x'.repeat(1100 * 1024) }));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < big.length; i += 64 * 1024) controller.enqueue(big.subarray(i, i + 64 * 1024));
        controller.close();
      },
    });
    const res = await t.runtime.app.request('/v1/work-items', {
      method: 'POST',
      body,
      headers: {
        authorization: 'Bearer test-admin-key-0123456789abcdef',
        'content-type': 'application/json',
      },
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers 404 as problem+json for an unknown route', async () => {
    const res = await t.request<Problem>('GET', '/v1/no-such-thing');
    const p = expectProblem(res, 404);
    expect(p.detail).toBe('no route for GET /v1/no-such-thing');
    expect(p.instance).toBe('/v1/no-such-thing');
  });

  it('answers 404 as problem+json for a route outside /v1', async () => {
    expectProblem(await t.request('GET', '/nope', { key: null }), 404);
  });
});

describe('path and query parameters', () => {
  it.each([
    ['GET', '/v1/work-items/not-a-uuid'],
    ['GET', '/v1/work-items/12345'],
    ['GET', '/v1/work-items/not-a-uuid/events'],
    ['POST', '/v1/work-items/not-a-uuid/cancel'],
    ['DELETE', '/v1/api-keys/not-a-uuid'],
  ])('answers 400 naming path.id for %s %s', async (method, path) => {
    const res = await t.request<Problem>(method, path);
    expect(expectProblem(res, 400).errors?.map((e) => e.path)).toEqual(['path.id']);
  });

  it.each([
    ['limit=0', 'query.limit'],
    ['limit=201', 'query.limit'],
    ['limit=abc', 'query.limit'],
    ['limit=1.5', 'query.limit'],
    ['limit=1e400', 'query.limit'],
    ['state=pending', 'query.state'],
    ['kind=BAD KIND', 'query.kind'],
    ['cursor=not-a-cursor', 'query.cursor'],
    [`cursor=${'a'.repeat(100)}`, 'query.cursor'],
  ])('answers 400 for ?%s naming %s', async (query, path) => {
    const res = await t.request<Problem>('GET', `/v1/work-items?${query}`);
    expect(expectProblem(res, 400).errors?.map((e) => e.path)).toEqual([path]);
  });

  it.each([['after=-1'], ['after=abc'], ['after=1e400'], ['limit=0'], ['limit=1001']])(
    'answers 400 for events?%s',
    async (query) => {
      const res = await t.request<Problem>('GET', `/v1/work-items/${SOME_ID}/events?${query}`);
      expect(expectProblem(res, 400).errors?.[0]?.path).toMatch(/^query\./);
    },
  );

  it('answers 400 for an Idempotency-Key that is not printable ASCII', async () => {
    const res = await t.request<Problem>('POST', '/v1/work-items', {
      body: VALID,
      headers: { 'idempotency-key': 'x'.repeat(256) },
    });
    expect(expectProblem(res, 400).errors?.map((e) => e.path)).toEqual(['header.idempotency-key']);
  });
});

describe('odd bodies never produce a 500', () => {
  const odd: string[] = [
    '',
    ' ',
    'null',
    'true',
    '"string"',
    '[]',
    '{}',
    '{"kind":null}',
    '{"kind":"refund","capability":"refund.assess","payload":null}',
    '{"kind":"refund","capability":"refund.assess","attributes":null}',
    '{"kind":"refund","capability":"refund.assess","attributes":{"":1}}',
    '{"kind":"refund","capability":"refund.assess","attributes":{"__proto__":{"x":1}}}',
    '{"__proto__":{"admin":true},"kind":"refund","capability":"refund.assess"}',
    '{"constructor":{"prototype":{}},"kind":"refund"}',
    '{"kind":"refund","capability":"refund.assess","dueAt":"0000-01-01T00:00:00Z"}',
    '{"kind":"refund","capability":"refund.assess","dueAt":"99999-01-01T00:00:00Z"}',
    '{"kind":"refund","capability":"refund.assess","priority":-0}',
    '{"kind":"refund","capability":"refund.assess","priority":1e-400}',
    '{"kind":"refund","capability":"refund.assess","priority":NaN}',
    '{"kind":"refund","capability":"refund.assess","title":"\\ud800"}',
    '{"kind":"refund","capability":"refund.assess","payload":"\\u0000"}',
    `{"kind":"${'r'.repeat(10_000)}","capability":"refund.assess"}`,
    `{"kind":"refund","capability":"refund.assess","attributes":{${Array.from({ length: 500 }, (_, i) => `"a${i}":${i}`).join(',')}}}`,
    '{"kind":"refund","kind":"incident","capability":"refund.assess"}',
    '\u0000',
    '\ufeff{"kind":"refund","capability":"refund.assess"}',
    '{"kind":"refund"}}}}',
    '[[[[[[[[[[',
    '{"a":'.repeat(5000),
  ];
  it.each(odd.map((b, i) => [i, b]))('body #%i gets a 4xx or a 2xx', async (_i, raw) => {
    const res = await t.request('POST', '/v1/work-items', {
      raw: raw as string,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status, res.text.slice(0, 300)).toBeLessThan(500);
    if (res.status >= 400) expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it.each([
    ['POST', '/v1/api-keys', '{"role":"root","name":"x"}'],
    ['POST', '/v1/api-keys', '{"role":"agent","name":"x","nodeId":"../../etc"}'],
    ['POST', '/v1/api-keys', '[]'],
    ['POST', `/v1/work-items/${SOME_ID}/cancel`, '{"reason":5}'],
    ['POST', `/v1/work-items/${SOME_ID}/cancel`, '{"reason":"x","extra":1}'],
    ['POST', `/v1/work-items/${SOME_ID}/cancel`, 'nope'],
  ])('%s %s with %s gets a 4xx', async (method, path, raw) => {
    const res = await t.request(method, path, { raw, headers: { 'content-type': 'application/json' } });
    expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    expect(res.status, res.text).toBeLessThan(500);
  });
});
