import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

describe('POST /v1/work-items', () => {
  it('creates an item whose first step is queued at the named capability', async () => {
    const res = await t.request<Record<string, unknown>>('POST', '/v1/work-items', {
      body: {
        kind: 'refund',
        title: 'Refund order 1042',
        capability: 'refund.assess',
        attributes: { amount: 120 },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'refund',
      title: 'Refund order 1042',
      state: 'open',
      priority: 50,
      attributes: { amount: 120 },
      steps: [{ capability: 'refund.assess', state: 'queued', nodeId: null, attempt: 1 }],
    });
    expect(res.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('location')).toBe(`/v1/work-items/${res.body.id}`);

    const read = await t.request('GET', `/v1/work-items/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
  });

  it('answers 422 naming capability when it is missing', async () => {
    const res = await t.request<{ errors: { path: string }[] }>('POST', '/v1/work-items', {
      body: { kind: 'refund' },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors.map((e) => e.path)).toEqual(['capability']);
  });
});
