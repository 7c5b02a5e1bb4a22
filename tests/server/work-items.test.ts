// The work-item endpoints' happy paths: submit, read, list (filters, keyset pagination), cancel, events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

interface Item {
  id: string;
  kind: string;
  state: string;
  steps: { id: string; capability: string; state: string }[];
  [key: string]: unknown;
}
interface Page {
  items: Item[];
  nextCursor: string | null;
}
interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

async function submit(body: Record<string, unknown>, key?: string): Promise<Item> {
  const res = await t.request<Item>('POST', '/v1/work-items', { body, key });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('POST /v1/work-items', () => {
  it('creates an item whose first step is queued at the named capability', async () => {
    const res = await t.request<Item>('POST', '/v1/work-items', {
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
    expect(res.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.body.createdAt).toBe(t.clock.now().toISOString());
    expect(res.headers.get('location')).toBe(`/v1/work-items/${res.body.id}`);

    const read = await t.request('GET', `/v1/work-items/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
  });

  it('keeps payload, priority and dueAt as given', async () => {
    const item = await submit({
      kind: 'support.question',
      capability: 'kb.answer',
      payload: { question: 'Where is my order?', lines: [1, 2, { sku: 'A-1' }] },
      priority: 90,
      dueAt: '2026-01-06T17:00:00+01:00',
    });
    expect(item).toMatchObject({
      payload: { question: 'Where is my order?', lines: [1, 2, { sku: 'A-1' }] },
      priority: 90,
      dueAt: '2026-01-06T16:00:00.000Z',
    });
  });

  it('continues the trace of an incoming traceparent header', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await t.request<Item>('POST', '/v1/work-items', {
      body: { kind: 'incident', capability: 'incident.triage' },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.status).toBe(201);
    expect(res.body.traceId).toBe(traceId);
  });

  it('answers 422 naming capability when it is missing for a kind without a value stream', async () => {
    const res = await t.request<Problem>('POST', '/v1/work-items', { body: { kind: 'support.question' } });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors?.map((e) => e.path)).toEqual(['capability']);
  });

  it('answers 422 naming capability when the network has no such capability', async () => {
    const res = await t.request<Problem>('POST', '/v1/work-items', {
      body: { kind: 'refund', capability: 'refund.teleport' },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'capability', message: 'unknown capability refund.teleport' }]);
  });
});

describe('GET /v1/work-items/:id', () => {
  it('answers 404 as problem+json for an id that does not exist', async () => {
    const res = await t.request<Problem>('GET', '/v1/work-items/01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('not_found');
  });
});

describe('GET /v1/work-items', () => {
  let mine: TestRuntime;
  const ids: string[] = [];
  beforeAll(async () => {
    // A runtime of its own, so the list holds exactly what this block submitted.
    mine = await createTestRuntime();
    for (let i = 0; i < 5; i++) {
      mine.clock.advance(1000);
      const kind = i % 2 === 0 ? 'refund' : 'incident';
      const res = await mine.request<Item>('POST', '/v1/work-items', {
        body: { kind, capability: kind === 'refund' ? 'refund.assess' : 'incident.triage', title: `#${i}` },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const cancel = await mine.request('POST', `/v1/work-items/${ids[1]}/cancel`);
    expect(cancel.status).toBe(200);
  });
  afterAll(async () => {
    await mine?.close();
  });

  it('lists newest first with each item’s steps', async () => {
    const res = await mine.request<Page>('GET', '/v1/work-items');
    expect(res.status).toBe(200);
    expect(res.body.items.map((i) => i.id)).toEqual([...ids].reverse());
    expect(res.body.items.every((i) => i.steps.length === 1)).toBe(true);
    expect(res.body.nextCursor).toBeNull();
  });

  it('pages with limit and nextCursor until the last page says null', async () => {
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const res = await mine.request<Page>('GET', `/v1/work-items${query}`);
      expect(res.status).toBe(200);
      pages.push(res.body.items.length);
      seen.push(...res.body.items.map((i) => i.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by kind', async () => {
    const res = await mine.request<Page>('GET', '/v1/work-items?kind=incident');
    expect(res.body.items.map((i) => i.id)).toEqual([ids[3], ids[1]]);
  });

  it('filters by state', async () => {
    const cancelled = await mine.request<Page>('GET', '/v1/work-items?state=cancelled');
    expect(cancelled.body.items.map((i) => i.id)).toEqual([ids[1]]);
    const open = await mine.request<Page>('GET', '/v1/work-items?state=open&kind=refund&limit=1');
    expect(open.body.items.map((i) => i.id)).toEqual([ids[4]]);
    expect(open.body.nextCursor).toBe(ids[4]);
  });
});

describe('POST /v1/work-items/:id/cancel', () => {
  it('cancels an open item and its queued step, and records why', async () => {
    const item = await submit({ kind: 'refund', capability: 'refund.assess' });
    const res = await t.request<Item>('POST', `/v1/work-items/${item.id}/cancel`, {
      body: { reason: 'customer withdrew the request' },
    });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('cancelled');
    expect(res.body.steps.map((s) => s.state)).toEqual(['cancelled']);

    const events = await t.request<{ events: { type: string; data: Record<string, unknown> }[] }>(
      'GET',
      `/v1/work-items/${item.id}/events`,
    );
    const cancelled = events.body.events.find((e) => e.type === 'work_item.cancelled');
    expect(cancelled?.data.reason).toBe('customer withdrew the request');
    expect(events.body.events.map((e) => e.type)).toContain('step.cancelled');
  });

  it('answers 409 naming the state when the item is already final', async () => {
    const item = await submit({ kind: 'refund', capability: 'refund.assess' });
    expect((await t.request('POST', `/v1/work-items/${item.id}/cancel`)).status).toBe(200);
    const again = await t.request<Problem & { state: string }>('POST', `/v1/work-items/${item.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body.code).toBe('conflict');
    expect(again.body.state).toBe('cancelled');
    expect(again.body.detail).toContain('is cancelled');
  });

  it('answers 404 for an item that does not exist', async () => {
    const res = await t.request('POST', '/v1/work-items/01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d/cancel');
    expect(res.status).toBe(404);
  });
});

describe('GET /v1/work-items/:id/events', () => {
  it('returns the log oldest first: created, then the first step queued', async () => {
    const item = await submit({ kind: 'refund', capability: 'refund.assess' });
    const res = await t.request<{
      events: { id: string; type: string; stepId: string | null; at: string }[];
    }>('GET', `/v1/work-items/${item.id}/events`);
    expect(res.status).toBe(200);
    const types = res.body.events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['work_item.created', 'step.queued']);
    expect(res.body.events[1]?.stepId).toBe(item.steps[0]?.id);
    expect(res.body.events[0]?.at).toBe(item.createdAt);
    const ids = res.body.events.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('resumes after a given event id and honours limit', async () => {
    const item = await submit({ kind: 'refund', capability: 'refund.assess' });
    await t.request('POST', `/v1/work-items/${item.id}/cancel`);
    const all = await t.request<{ events: { id: string }[] }>('GET', `/v1/work-items/${item.id}/events`);
    expect(all.body.events.length).toBeGreaterThanOrEqual(4);
    const first = all.body.events[0]!.id;
    const rest = await t.request<{ events: { id: string }[] }>(
      'GET',
      `/v1/work-items/${item.id}/events?after=${first}&limit=2`,
    );
    expect(rest.body.events.map((e) => e.id)).toEqual(all.body.events.slice(1, 3).map((e) => e.id));
  });
});
