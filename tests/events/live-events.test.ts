import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, TEST_ADMIN_KEY, type TestRuntime } from '../support/runtime.js';
import { type SseMessage, sseReader } from './sse-client.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

function open(query = '', headers: Record<string, string> = {}, key = TEST_ADMIN_KEY) {
  return t.runtime.app.request(`/v1/events${query}`, {
    headers: { authorization: `Bearer ${key}`, ...headers },
  });
}

async function submit(kind: string, capability: string, key?: string): Promise<string> {
  const res = await t.request<{ id: string }>('POST', '/v1/work-items', {
    body: { kind, capability, title: `${kind} item` },
    ...(key ? { key } : {}),
  });
  if (res.status !== 201) throw new Error(`submit failed: ${res.status} ${res.text}`);
  t.runtime.eventFeed.poke();
  return res.body.id;
}

async function logOf(itemId: string): Promise<{ id: string; type: string }[]> {
  const res = await t.request<{ events: { id: string; type: string }[] }>(
    'GET',
    `/v1/work-items/${itemId}/events`,
  );
  return res.body.events;
}

const parsed = (m: SseMessage) =>
  JSON.parse(m.data) as { id: string; type: string; workItemId: string; workItemKind: string };

describe('GET /v1/events', () => {
  it('streams new events with the event-log id as the SSE id and the type as the SSE event', async () => {
    const res = await open();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const stream = sseReader(res);
    const id = await submit('refund', 'refund.assess');
    const log = await logOf(id);
    const messages = await stream.take(log.length);
    expect(messages.map((m) => m.id)).toEqual(log.map((e) => e.id));
    expect(messages.map((m) => m.event)).toEqual(log.map((e) => e.type));
    expect(parsed(messages[0] as SseMessage)).toMatchObject({ workItemId: id, workItemKind: 'refund' });
    await stream.drop();
  });

  it('resumes from Last-Event-ID after a dropped connection: every event once, in order', async () => {
    const first = sseReader(await open());
    const a = await submit('refund', 'refund.assess');
    const seen = await first.take((await logOf(a)).length);
    await first.drop();

    // While the client is away, more work arrives.
    const b = await submit('question', 'kb.answer');
    const c = await submit('refund', 'refund.assess');
    const last = seen.at(-1)?.id as string;
    const missed = [...(await logOf(b)), ...(await logOf(c))];

    const second = sseReader(await open('', { 'last-event-id': last }));
    const resumed = await second.take(missed.length);
    const d = await submit('question', 'kb.answer');
    const live = await second.take((await logOf(d)).length);
    await second.drop();

    const ids = [...seen, ...resumed, ...live].map((m) => Number(m.id));
    const expected = [...(await logOf(a)), ...missed, ...(await logOf(d))].map((e) => Number(e.id));
    expect(ids).toEqual(expected);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  it('resumes from ?after= like Last-Event-ID', async () => {
    const a = await submit('refund', 'refund.assess');
    const log = await logOf(a);
    const first = log[0] as { id: string };
    const stream = sseReader(await open(`?after=${first.id}&workItemId=${a}`));
    const messages = await stream.take(log.length - 1);
    expect(messages.map((m) => m.id)).toEqual(log.slice(1).map((e) => e.id));
    await stream.drop();
  });

  it('filters by event type (exact or family) and by work-item kind', async () => {
    const byType = sseReader(await open('?type=work_item.created'));
    const byKind = sseReader(await open('?kind=question&type=step.*'));
    await submit('refund', 'refund.assess');
    const q = await submit('question', 'kb.answer');
    const created = await byType.take(2);
    expect(created.map((m) => m.event)).toEqual(['work_item.created', 'work_item.created']);
    const questionSteps = await byKind.take(1);
    expect(parsed(questionSteps[0] as SseMessage)).toMatchObject({ workItemId: q, workItemKind: 'question' });
    expect(questionSteps[0]?.event).toMatch(/^step\./);
    await byType.drop();
    await byKind.drop();
  });

  it('shows a submitter only the events of the items it submitted', async () => {
    const submitter = await t.createKey('submitter');
    const stream = sseReader(await open('?type=work_item.created', {}, submitter.key));
    await submit('refund', 'refund.assess');
    const mine = await submit('refund', 'refund.assess', submitter.key);
    const messages = await stream.take(1);
    expect(parsed(messages[0] as SseMessage).workItemId).toBe(mine);
    await stream.drop();
  });

  it('answers 400 naming the header when Last-Event-ID is not an event id', async () => {
    const res = await open('', { 'last-event-id': 'abc' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string }[] };
    expect(body.errors[0]?.path).toContain('last-event-id');
  });

  it('answers 400 naming the field for an unknown type pattern', async () => {
    const res = await open('?type=Not%20A%20Type');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string }[] };
    expect(body.errors[0]?.path).toContain('type');
  });

  it('answers 401 without a key', async () => {
    const res = await t.runtime.app.request('/v1/events');
    expect(res.status).toBe(401);
  });
});
