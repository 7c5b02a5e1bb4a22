import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWebhookWorker } from '../../capabilities/webhook-delivery.js';
import { verifyWebhook } from '../../capabilities/webhook-signature.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on 127.0.0.1 that answers with the next queued status (200 once the queue is empty). */
function receiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  return {
    received,
    statuses,
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let t: TestRuntime;
const rx = receiver();
let url: string;
beforeAll(async () => {
  t = await createTestRuntime();
  url = await rx.start();
});
afterAll(async () => {
  await t?.close();
  await rx.stop();
});

interface Delivery {
  eventId: string;
  eventType: string;
  state: string;
  attempts: number;
  log: { attempt: number; status: number | null; error: string | null }[];
}

async function createHook(events: string[]) {
  const res = await t.request<{ id: string; secret: string }>('POST', '/v1/webhooks', {
    body: { url, events },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function submit(kind = 'refund', capability = 'refund.assess'): Promise<string> {
  const res = await t.request<{ id: string }>('POST', '/v1/work-items', { body: { kind, capability } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function deliveries(hookId: string): Promise<Delivery[]> {
  const res = await t.request<{ deliveries: Delivery[] }>('GET', `/v1/webhooks/${hookId}/deliveries`);
  expect(res.status).toBe(200);
  return res.body.deliveries;
}

describe('webhooks', () => {
  it('delivers subscribed events signed with HMAC-SHA256 over the timestamp and the body', async () => {
    const hook = await createHook(['work_item.created']);
    const before = rx.received.length;
    const itemId = await submit();
    await runWebhookWorker(t.runtime);
    const got = rx.received.slice(before);
    expect(got).toHaveLength(1);
    const { headers, body } = got[0] as Received;
    expect(JSON.parse(body)).toMatchObject({
      type: 'work_item.created',
      workItemId: itemId,
      workItemKind: 'refund',
    });
    expect(headers['flowmesh-event-type']).toBe('work_item.created');
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    // The recipe from the README, done independently with node:crypto.
    const signature = String(headers['flowmesh-signature']);
    const [, ts, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
    expect(Number(ts)).toBe(Math.floor(t.clock.now().getTime() / 1000));
    expect(v1).toBe(createHmac('sha256', hook.secret).update(`${ts}.${body}`).digest('hex'));
    expect(await verifyWebhook(hook.secret, signature, body, t.clock.now())).toEqual({ valid: true });
    expect(await verifyWebhook('whsec_wrong', signature, body, t.clock.now())).toMatchObject({
      valid: false,
    });
    expect(await verifyWebhook(hook.secret, signature, `${body} `, t.clock.now())).toMatchObject({
      valid: false,
    });
    await t.request('DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('retries a failed delivery with backoff on the clock, then succeeds, and the log shows each attempt', async () => {
    const hook = await createHook(['work_item.created']);
    rx.statuses.push(500, 503);
    const before = rx.received.length;
    await submit();

    await runWebhookWorker(t.runtime);
    let [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ state: 'pending', attempts: 1, log: [{ attempt: 1, status: 500 }] });

    // Not due yet: nothing is sent.
    t.clock.advance(29_000);
    await runWebhookWorker(t.runtime);
    expect(rx.received.length - before).toBe(1);

    t.clock.advance(1_000); // 30 s after the first attempt
    await runWebhookWorker(t.runtime);
    [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ state: 'pending', attempts: 2 });

    t.clock.advance(59_000); // the second wait is twice the first
    await runWebhookWorker(t.runtime);
    expect(rx.received.length - before).toBe(2);
    t.clock.advance(1_000);
    await runWebhookWorker(t.runtime);
    [d] = await deliveries(hook.id);
    expect(d?.state).toBe('succeeded');
    expect(d?.log.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(rx.received.length - before).toBe(3);
    // Every attempt carried the same event.
    const ids = rx.received.slice(before).map((r) => r.headers['flowmesh-event-id']);
    expect(new Set(ids).size).toBe(1);
    await t.request('DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('gives a delivery up as failed after the last attempt, recording a receiver that is down', async () => {
    const down = receiver();
    const downUrl = await down.start();
    await down.stop();
    const res = await t.request<{ id: string }>('POST', '/v1/webhooks', {
      body: { url: downUrl, events: ['work_item.*'] },
    });
    await submit();
    for (let i = 0; i < 8; i++) {
      await runWebhookWorker(t.runtime);
      t.clock.advance(3_600_000);
    }
    const [d] = await deliveries(res.body.id);
    expect(d?.state).toBe('failed');
    expect(d?.attempts).toBe(8);
    expect(d?.log.every((a) => a.status === null && a.error)).toBe(true);
    await t.request('DELETE', `/v1/webhooks/${res.body.id}`);
  });

  it('sends only the event types a webhook subscribed to, and only events after it was created', async () => {
    await submit('question', 'kb.answer');
    const hook = await createHook(['step.*']);
    await submit('question', 'kb.answer');
    await runWebhookWorker(t.runtime);
    const list = await deliveries(hook.id);
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((d) => d.eventType.startsWith('step.'))).toBe(true);
    const all = await t.request<{ webhooks: { id: string }[] }>('GET', '/v1/webhooks');
    expect(all.body.webhooks.map((w) => w.id)).toContain(hook.id);
    expect(JSON.stringify(all.body)).not.toContain('whsec_');
    await t.request('DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('lets only admins manage webhooks', async () => {
    const operator = await t.createKey('operator');
    const res = await t.request('POST', '/v1/webhooks', { key: operator.key, body: { url, events: ['*'] } });
    expect(res.status).toBe(403);
  });

  it('answers 422 naming the field for a URL that is not http(s) or an unknown event pattern', async () => {
    const bad = await t.request<{ errors: { path: string }[] }>('POST', '/v1/webhooks', {
      body: { url: 'ftp://example.com/x', events: ['Bad Type'] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e) => e.path).sort()).toEqual(['events[0]', 'url']);
  });

  it('answers 404 for the deliveries of a webhook that does not exist, and for deleting it', async () => {
    const id = '01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d';
    expect((await t.request('GET', `/v1/webhooks/${id}/deliveries`)).status).toBe(404);
    expect((await t.request('DELETE', `/v1/webhooks/${id}`)).status).toBe(404);
  });
});
