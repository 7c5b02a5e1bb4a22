import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectionErrorCode,
  createPushDispatcher,
  type PushRequest,
} from '../../capabilities/push-dispatch.js';
import { runSweep } from '../../capabilities/sweeper.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { escalations, eventTypes, item, network, submit } from './helpers.js';

// An in-test endpoint on 127.0.0.1: each test says how it answers.
type Answer = (req: PushRequest, res: ServerResponse) => void;
let answer: Answer = (_req, res) => res.end();
const received: PushRequest[] = [];
let server: Server;
let endpoint: string;
const hanging = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const parsed = JSON.parse(body) as PushRequest;
      received.push(parsed);
      answer(parsed, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/steps`;
});
afterAll(async () => {
  for (const r of hanging) r.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const reply = (status: number, body?: unknown) => (_req: PushRequest, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
};

function pushNetwork(capacity = 2, at = endpoint) {
  return network({
    capabilities: [{ id: 'kb.answer', leaseSeconds: 300 }],
    nodes: [
      {
        id: 'help-centre',
        name: 'Help centre',
        kind: 'self_service',
        mode: 'push',
        endpoint: at,
        timeoutSeconds: 1,
        capacity,
        capabilities: [{ capability: 'kb.answer' }],
      },
    ],
  });
}

let t: TestRuntime;
afterEach(async () => {
  received.length = 0;
  await t?.close();
});

describe('push dispatch', () => {
  it('sends the step with its lease and callback URL, and completes it from a 2xx answer with a result', async () => {
    t = await createTestRuntime({ network: pushNetwork() });
    answer = reply(200, { result: { answer: 'Reset it under Settings' }, confidence: 0.7 });
    const s = await submit(t, 'kb.answer', { payload: { question: 'How do I reset my password?' } });
    const report = await createPushDispatcher(t.runtime).dispatch();
    expect(report.outcomes).toEqual([{ stepId: s.stepId, nodeId: 'help-centre', outcome: 'completed' }]);
    expect(received[0]).toMatchObject({
      workItem: { id: s.id, payload: { question: 'How do I reset my password?' } },
      step: { id: s.stepId, state: 'claimed', nodeId: 'help-centre' },
      callbackUrl: `http://localhost:3000/v1/work-items/${s.id}/complete`,
    });
    expect(received[0]?.lease.token).toMatch(/^[0-9a-f-]{36}$/);
    const view = await item(t, s.id);
    expect(view).toMatchObject({
      state: 'done',
      steps: [{ state: 'completed', result: { answer: 'Reset it under Settings' } }],
    });
  });

  it('counts an error answer as a failure: the step goes back to the queue with the next attempt', async () => {
    t = await createTestRuntime({ network: pushNetwork() });
    answer = reply(503, { error: 'maintenance' });
    const s = await submit(t, 'kb.answer');
    const report = await createPushDispatcher(t.runtime).dispatch();
    expect(report.outcomes[0]).toMatchObject({ outcome: 'failed', detail: `${endpoint} answered 503` });
    expect((await item(t, s.id)).steps[0]).toMatchObject({ state: 'queued', attempt: 2 });
    expect(await eventTypes(t, s.id)).toContain('step.requeued');
  });

  it('counts a timeout as a failure, and refuses the late callback with the old lease', async () => {
    t = await createTestRuntime({ network: pushNetwork() });
    answer = (_req, res) => {
      hanging.add(res); // never answers in time
    };
    const s = await submit(t, 'kb.answer');
    const agent = await t.createKey('agent', 'help-centre');
    const report = await createPushDispatcher(t.runtime).dispatch();
    expect(report.outcomes[0]).toMatchObject({
      outcome: 'failed',
      detail: `no answer from ${endpoint} within 1 s`,
    });
    expect((await item(t, s.id)).steps[0]).toMatchObject({ state: 'queued', attempt: 2 });

    const late = await t.request('POST', `/v1/work-items/${s.id}/complete`, {
      key: agent.key,
      body: { stepId: s.stepId, leaseToken: received[0]?.lease.token, result: { answer: 'too late' } },
    });
    expect(late.status).toBe(409);
    expect((await item(t, s.id)).state).toBe('open');
  }, 15_000);

  it('leaves an accepted step claimed until the node calls back with the lease token', async () => {
    t = await createTestRuntime({ network: pushNetwork() });
    answer = reply(202, { accepted: true });
    const s = await submit(t, 'kb.answer');
    const agent = await t.createKey('agent', 'help-centre');
    const report = await createPushDispatcher(t.runtime).dispatch();
    expect(report.outcomes[0]?.outcome).toBe('accepted');
    expect((await item(t, s.id)).steps[0]?.state).toBe('claimed');
    const callback = await t.request('POST', `/v1/work-items/${s.id}/complete`, {
      key: agent.key,
      body: { stepId: s.stepId, leaseToken: received[0]?.lease.token, result: { answer: 'done later' } },
    });
    expect(callback.status).toBe(200);
    expect((await item(t, s.id)).state).toBe('done');
  });

  it('keeps at most capacity steps in flight', async () => {
    t = await createTestRuntime({ network: pushNetwork(2) });
    answer = reply(202, {});
    for (let i = 0; i < 3; i++) await submit(t, 'kb.answer');
    const dispatcher = createPushDispatcher(t.runtime);
    expect((await dispatcher.dispatch()).sent).toBe(2);
    expect((await dispatcher.dispatch()).sent).toBe(0);
    const nodes = await t.request<{ nodes: { id: string; wip: number; queueDepth: number }[] }>(
      'GET',
      '/v1/nodes',
    );
    expect(nodes.body.nodes[0]).toMatchObject({ wip: 2, queueDepth: 1 });
  });

  it('does not spend attempts on a push that never reached the node, and trips the breaker instead', async () => {
    // A port nothing listens on: every push is refused before the node could get the step.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = `http://127.0.0.1:${port}/steps`;
    t = await createTestRuntime({ network: pushNetwork(2, down) });
    const s = await submit(t, 'kb.answer');
    const dispatcher = createPushDispatcher(t.runtime);
    const first = await dispatcher.dispatch();
    expect(first.outcomes[0]).toMatchObject({
      outcome: 'failed',
      detail: `could not reach ${down} (ECONNREFUSED); the step was not delivered`,
    });
    // The endpoint is left alone for a second, then for 2, 4, 8 s: no push bounces straight back to it.
    expect((await dispatcher.dispatch()).sent).toBe(0);
    // kb.answer allows 3 attempts: five refused pushes would have failed the item.
    for (const seconds of [1, 2, 4, 8]) {
      t.clock.advance(seconds * 1000 - 1);
      expect((await dispatcher.dispatch()).sent).toBe(0);
      t.clock.advance(1);
      expect((await dispatcher.dispatch()).sent).toBe(1);
    }
    expect((await item(t, s.id)).steps[0]).toMatchObject({ state: 'queued', attempt: 1 });
    expect((await item(t, s.id)).state).toBe('open');
    const requeued = await t.request<{ events: { type: string; data: Record<string, unknown> }[] }>(
      'GET',
      `/v1/work-items/${s.id}/events`,
    );
    expect(requeued.body.events.filter((e) => e.type === 'step.requeued').map((e) => e.data)).toEqual(
      Array.from({ length: 5 }, () => expect.objectContaining({ cause: 'undelivered', nextAttempt: 1 })),
    );
    // Five failures in the window: the breaker opens and dispatch stops sending to the endpoint.
    expect((await runSweep(t.runtime)).tripped).toEqual(['help-centre']);
    // With its only node's breaker open the step has nowhere to go: ops get a no_capable_node escalation.
    expect((await item(t, s.id)).steps[0]).toMatchObject({
      eligibleNodes: [],
      exclusions: [{ nodeId: 'help-centre', reason: 'circuit_open' }],
    });
    expect((await escalations(t, s.id)).map((e) => e.kind)).toEqual(['no_capable_node']);
    t.clock.advance(60_000);
    expect((await dispatcher.dispatch()).sent).toBe(0);
  });

  it('tells an undelivered push from one that failed after it was sent', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(connectionErrorCode(refused)).toBe('ECONNREFUSED');
    expect(connectionErrorCode(Object.assign(new Error('dns'), { code: 'ENOTFOUND' }))).toBe('ENOTFOUND');
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    });
    expect(connectionErrorCode(reset)).toBeUndefined();
    expect(connectionErrorCode(new Error('boom'))).toBeUndefined();
  });
});
