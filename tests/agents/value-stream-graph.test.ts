// Value streams compiled to LangGraph graphs, on the store's checkpointer, with a fake routing port:
// what is routed, in which order, and how each stream ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreCheckpointSaver } from '../../agents/checkpointer.js';
import {
  type PolicyRequirement,
  type StepDone,
  type StepRequest,
  type StreamItem,
  ValueStreamGraph,
  type ValueStreamPorts,
} from '../../agents/value-stream-graph.js';
import { loadNetworkFile, parseNetwork } from '../../capabilities/network-file.js';
import type { ValueStream } from '../../capabilities/value-stream-schema.js';
import type { Store } from '../../store/database.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/database.js';

// Read directly (not through tests/support/runtime.ts) so these tests need no server.
const loadExampleNetwork = () => loadNetworkFile('examples/network.yaml');

function streamFrom(yaml: string): ValueStream {
  const network = parseNetwork(
    `capabilities:
  - id: doc.draft
  - id: doc.review
  - id: doc.legal
  - id: doc.publish
valueStreams:
${yaml}`,
    'test.yaml',
  );
  return network.valueStreams[0]!;
}

/** Records every routed step, as the router would queue it. */
function fakePort(): ValueStreamPorts & { routed: StepRequest[]; keys(): string[] } {
  const routed: StepRequest[] = [];
  return {
    routed,
    keys: () => routed.map((r) => r.key),
    async routeStep(request) {
      routed.push(request);
    },
  };
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function graphOn(store: Store, stream: ValueStream, ports: ValueStreamPorts) {
  return new ValueStreamGraph(stream, { checkpointer: new StoreCheckpointSaver(store), ports });
}

const item = (id: string, attributes: Record<string, unknown> = {}): StreamItem => ({
  id,
  kind: 'doc',
  attributes,
});

const reviewLoop = streamFrom(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next: review
      - id: review
        capability: doc.review
        next:
          - when: result.ok == false
            to: draft
            max: 1
          - when: result.ok == false
            end: escalated
          - to: publish
      - id: publish
        capability: doc.publish
`);

describe('a three-step stream with a conditional edge and a rework loop', () => {
  it('routes the first step and waits for it', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, reviewLoop, port);
    const status = await graph.start(item('00000000-0000-4000-8000-000000000001'));
    expect(port.keys()).toEqual(['draft#1']);
    expect(status).toMatchObject({
      state: 'running',
      waitingOn: [{ stepId: 'draft', capability: 'doc.draft' }],
    });
  });

  it('sends the item back for rework once, then on to publish when the review passes', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, reviewLoop, port);
    const id = '00000000-0000-4000-8000-000000000002';
    await graph.start(item(id));
    await graph.completeStep(id, 'draft#1', { text: 'v1' });
    await graph.completeStep(id, 'review#1', { ok: false });
    await graph.completeStep(id, 'draft#2', { text: 'v2' });
    await graph.completeStep(id, 'review#2', { ok: true });
    const done = await graph.completeStep(id, 'publish#1', { url: 'https://example.test/doc' });
    expect(port.keys()).toEqual(['draft#1', 'review#1', 'draft#2', 'review#2', 'publish#1']);
    expect(done.status).toMatchObject({ state: 'ended', outcome: 'completed' });
    if (done.status.state === 'ended') {
      expect(done.status.trail.map((t) => `${t.stepId}#${t.visit}`)).toEqual(port.keys());
      expect(done.status.results.draft).toEqual({ text: 'v2' });
    }
  });

  it('ends escalated when the rework budget is spent and the review still fails', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, reviewLoop, port);
    const id = '00000000-0000-4000-8000-000000000003';
    await graph.start(item(id));
    await graph.completeStep(id, 'draft#1', {});
    await graph.completeStep(id, 'review#1', { ok: false });
    await graph.completeStep(id, 'draft#2', {});
    const end = await graph.completeStep(id, 'review#2', { ok: false });
    expect(port.keys()).toEqual(['draft#1', 'review#1', 'draft#2', 'review#2']);
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'escalated' });
  });

  it('refuses a completion for a step the thread is not waiting on, and a second completion of a step', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, reviewLoop, port);
    const id = '00000000-0000-4000-8000-000000000004';
    await graph.start(item(id));
    expect(await graph.completeStep(id, 'review#1', {})).toMatchObject({ ok: false, reason: 'not_waiting' });
    expect(await graph.completeStep(id, 'draft#1', {})).toMatchObject({ ok: true });
    expect(await graph.completeStep(id, 'draft#1', {})).toMatchObject({ ok: false, reason: 'not_waiting' });
    expect(port.keys()).toEqual(['draft#1', 'review#1']);
  });

  it('starting an item twice does not route its first step twice', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, reviewLoop, port);
    const id = '00000000-0000-4000-8000-000000000005';
    await graph.start(item(id));
    const again = await graph.start(item(id));
    expect(port.keys()).toEqual(['draft#1']);
    expect(again.state).toBe('running');
  });
});

describe('the refund stream of the example network', () => {
  async function refundGraph(store: Store, port: ValueStreamPorts) {
    const network = await loadExampleNetwork();
    return graphOn(store, network.valueStreams.find((v) => v.kind === 'refund')!, port);
  }
  const refund = (id: string, amount: number): StreamItem => ({ id, kind: 'refund', attributes: { amount } });

  it('goes to approval over 500, and on to execute when approved', async () => {
    const port = fakePort();
    const graph = await refundGraph(db.store, port);
    const id = '00000000-0000-4000-8000-000000000011';
    await graph.start(refund(id, 900));
    await graph.completeStep(id, 'triage#1', { kind: 'refund' });
    await graph.completeStep(id, 'assess#1', { eligible: true });
    expect((await graph.status(id)) as object).toMatchObject({
      state: 'running',
      waitingOn: [{ capability: 'refund.approve' }],
    });
    await graph.completeStep(id, 'approve#1', { decision: 'approve' });
    const end = await graph.completeStep(id, 'execute#1', { paid: true });
    expect(port.routed.map((r) => r.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'refund.approve',
      'refund.execute',
    ]);
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'completed' });
  });

  it('ends rejected when the approver rejects, and nothing is paid', async () => {
    const port = fakePort();
    const graph = await refundGraph(db.store, port);
    const id = '00000000-0000-4000-8000-000000000012';
    await graph.start(refund(id, 900));
    await graph.completeStep(id, 'triage#1', {});
    await graph.completeStep(id, 'assess#1', { eligible: true });
    const end = await graph.completeStep(id, 'approve#1', { decision: 'reject', reason: 'duplicate' });
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'approve#1']);
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'rejected' });
  });

  it('skips approval at 500 or less', async () => {
    const port = fakePort();
    const graph = await refundGraph(db.store, port);
    const id = '00000000-0000-4000-8000-000000000013';
    await graph.start(refund(id, 500));
    await graph.completeStep(id, 'triage#1', {});
    await graph.completeStep(id, 'assess#1', { eligible: true });
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'execute#1']);
  });

  it('sends a refund with no readable amount to approval', async () => {
    const port = fakePort();
    const graph = await refundGraph(db.store, port);
    const id = '00000000-0000-4000-8000-000000000014';
    await graph.start({ id, kind: 'refund', attributes: {} });
    await graph.completeStep(id, 'triage#1', {});
    await graph.completeStep(id, 'assess#1', { eligible: true });
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'approve#1']);
  });
});

describe('parallel branches', () => {
  const fanOut = streamFrom(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - to: [review, legal]
      - id: review
        capability: doc.review
      - id: legal
        capability: doc.legal
      - id: publish
        capability: doc.publish
        join: [review, legal]
`);

  it('routes both branches at once and starts the join only when both are done', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, fanOut, port);
    const id = '00000000-0000-4000-8000-000000000021';
    await graph.start(item(id));
    const split = await graph.completeStep(id, 'draft#1', {});
    expect(port.keys().slice(1).sort()).toEqual(['legal#1', 'review#1']);
    expect(split.status).toMatchObject({
      state: 'running',
      waitingOn: [{ key: 'legal#1' }, { key: 'review#1' }],
    });

    const half = await graph.completeStep(id, 'review#1', { ok: true });
    expect(port.keys()).not.toContain('publish#1');
    expect(half.status).toMatchObject({ state: 'running', waitingOn: [{ key: 'legal#1' }] });

    await graph.completeStep(id, 'legal#1', { ok: true });
    expect(port.keys().filter((k) => k === 'publish#1')).toHaveLength(1);
    const end = await graph.completeStep(id, 'publish#1', {});
    expect(port.keys().sort()).toEqual(['draft#1', 'legal#1', 'publish#1', 'review#1']);
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'completed' });
    if (end.status.state === 'ended') {
      expect(end.status.results).toMatchObject({ review: { ok: true }, legal: { ok: true } });
    }
  });

  it('joins whichever branch finishes first', async () => {
    const port = fakePort();
    const graph = graphOn(db.store, fanOut, port);
    const id = '00000000-0000-4000-8000-000000000022';
    await graph.start(item(id));
    await graph.completeStep(id, 'draft#1', {});
    await graph.completeStep(id, 'legal#1', {});
    expect(port.keys()).not.toContain('publish#1');
    await graph.completeStep(id, 'review#1', {});
    expect(port.keys().at(-1)).toBe('publish#1');
  });
});

describe('restart in the middle of a stream', () => {
  it('a new graph over the same database continues where the old one stopped: no step twice, none skipped', async () => {
    const network = await loadExampleNetwork();
    const refundStream = network.valueStreams.find((v) => v.kind === 'refund')!;
    const id = '00000000-0000-4000-8000-000000000031';
    const before = fakePort();
    const first = graphOn(db.store, refundStream, before);
    await first.start({ id, kind: 'refund', attributes: { amount: 1200 } });
    await first.completeStep(id, 'triage#1', {});
    await first.completeStep(id, 'assess#1', { eligible: true });

    // A new process: another connection on PostgreSQL; PGlite is one connection, so the same store.
    const store = onPostgres ? await db.openAnother() : db.store;
    const after = fakePort();
    const second = graphOn(store, refundStream, after);
    expect(await second.recover(id)).toMatchObject({ state: 'running', waitingOn: [{ key: 'approve#1' }] });
    await second.completeStep(id, 'approve#1', { decision: 'approve' });
    const end = await second.completeStep(id, 'execute#1', { paid: true });

    expect([...before.keys(), ...after.keys()]).toEqual(['triage#1', 'assess#1', 'approve#1', 'execute#1']);
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'completed' });
    if (end.status.state === 'ended') {
      expect(end.status.trail.map((t) => t.stepId)).toEqual(['triage', 'assess', 'approve', 'execute']);
    }
  });

  it('a thread that stopped while routing a step routes it again, with the same key, on recovery', async () => {
    const id = '00000000-0000-4000-8000-000000000032';
    const crashing: ValueStreamPorts = {
      async routeStep(request) {
        if (request.key === 'review#1') throw new Error('process died');
      },
    };
    const first = graphOn(db.store, reviewLoop, crashing);
    await first.start(item(id));
    await expect(first.completeStep(id, 'draft#1', {})).rejects.toThrow('process died');

    const port = fakePort();
    const second = graphOn(db.store, reviewLoop, port);
    const status = await second.recover(id);
    expect(port.keys()).toEqual(['review#1']);
    expect(status).toMatchObject({ state: 'running', waitingOn: [{ key: 'review#1' }] });
    expect(await second.recover(id)).toMatchObject({ state: 'running' });
    expect(port.keys()).toEqual(['review#1']);
  });
});

/**
 * A port that also answers stepDone like the driver: the item as the test last set it, and the steps
 * policies required after the step named by key.
 */
function policyPort(
  initial: StreamItem,
  required: Record<string, Omit<PolicyRequirement, 'originStepId' | 'policyVersion' | 'reason'>[]> = {},
) {
  const port = fakePort();
  const done: StepDone[] = [];
  let item = initial;
  return Object.assign(port, {
    done,
    setAttributes(attributes: Record<string, unknown>) {
      item = { ...item, attributes: { ...item.attributes, ...attributes } };
    },
    async stepDone(d: StepDone) {
      done.push(d);
      const added = d.attributes?.(item);
      if (added) item = { ...item, attributes: { ...added, ...item.attributes } };
      const list = (required[d.request.key] ?? []).map((r) => ({
        ...r,
        reason: `required by policy ${r.ruleId}`,
        policyVersion: 'v1',
        originStepId: 'origin',
      }));
      return { item, required: list };
    },
  });
}

describe('steps policies require, as gates of the thread', () => {
  async function refundStream() {
    const network = await loadExampleNetwork();
    return network.valueStreams.find((v) => v.kind === 'refund')!;
  }
  const approval = [{ capability: 'refund.approve', ruleId: 'approve-over-100' }];

  it('routes a required approval the stream does not have on its way, and goes on only once it is approved', async () => {
    const id = '00000000-0000-4000-8000-000000000041';
    const port = policyPort({ id, kind: 'refund', attributes: { amount: 300 } }, { 'assess#1': approval });
    const graph = graphOn(db.store, await refundStream(), port);
    await graph.start({ id, kind: 'refund', attributes: { amount: 300 } });
    await graph.completeStep(id, 'triage#1', {});
    const gated = await graph.completeStep(id, 'assess#1', { eligible: true });
    // The stream goes to execute at 300, but the policy's approval comes first.
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'assess#1>approve-over-100']);
    expect(gated.status).toMatchObject({
      state: 'running',
      waitingOn: [
        {
          key: 'assess#1>approve-over-100',
          capability: 'refund.approve',
          requirement: { ruleId: 'approve-over-100', originStepId: 'origin', policyVersion: 'v1' },
        },
      ],
    });
    await graph.completeStep(id, 'assess#1>approve-over-100', { approved: true });
    expect(port.keys().at(-1)).toBe('execute#1');
    const end = await graph.completeStep(id, 'execute#1', { paid: true });
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'completed' });
    if (end.status.state === 'ended') {
      expect(end.status.trail.map((t) => [t.capability, t.requiredBy ?? null])).toEqual([
        ['intake.triage', null],
        ['refund.assess', null],
        ['refund.approve', 'approve-over-100'],
        ['refund.execute', null],
      ]);
    }
  });

  it('ends rejected when the required approval is not given, and routes nothing after it', async () => {
    const id = '00000000-0000-4000-8000-000000000042';
    const port = policyPort({ id, kind: 'refund', attributes: { amount: 300 } }, { 'assess#1': approval });
    const graph = graphOn(db.store, await refundStream(), port);
    await graph.start({ id, kind: 'refund', attributes: { amount: 300 } });
    await graph.completeStep(id, 'triage#1', {});
    await graph.completeStep(id, 'assess#1', { eligible: true });
    const end = await graph.completeStep(id, 'assess#1>approve-over-100', { approved: false, note: 'no' });
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'rejected' });
    expect(port.keys()).not.toContain('execute#1');
  });

  it('leaves a requirement to the stream step it goes to next when that step is of the required capability', async () => {
    const id = '00000000-0000-4000-8000-000000000043';
    const port = policyPort({ id, kind: 'refund', attributes: { amount: 900 } }, { 'assess#1': approval });
    const graph = graphOn(db.store, await refundStream(), port);
    await graph.start({ id, kind: 'refund', attributes: { amount: 900 } });
    await graph.completeStep(id, 'triage#1', {});
    await graph.completeStep(id, 'assess#1', { eligible: true });
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'approve#1']);
    await graph.completeStep(id, 'approve#1', { decision: 'approve' });
    const end = await graph.completeStep(id, 'execute#1', {});
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'completed' });
    if (end.status.state === 'ended') {
      expect(end.status.trail[1]).toMatchObject({
        stepId: 'assess',
        coveredBy: [{ ruleId: 'approve-over-100', stepId: 'approve' }],
      });
    }
  });

  it('still enforces a requirement when the stream ends instead, before it ends', async () => {
    const id = '00000000-0000-4000-8000-000000000044';
    const port = policyPort({ id, kind: 'refund', attributes: { amount: 900 } }, { 'assess#1': approval });
    const graph = graphOn(db.store, await refundStream(), port);
    await graph.start({ id, kind: 'refund', attributes: { amount: 900 } });
    await graph.completeStep(id, 'triage#1', {});
    // Not eligible: the stream ends `rejected` without its approve step, so the policy's approval runs.
    const gated = await graph.completeStep(id, 'assess#1', { eligible: false });
    expect(gated.status).toMatchObject({
      state: 'running',
      waitingOn: [{ key: 'assess#1>approve-over-100' }],
    });
    const end = await graph.completeStep(id, 'assess#1>approve-over-100', { approved: true });
    expect(end.status).toMatchObject({ state: 'ended', outcome: 'rejected' });
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'assess#1>approve-over-100']);
  });

  it('routes every required step at once and takes their answers in turn, then what an answer required', async () => {
    const id = '00000000-0000-4000-8000-000000000045';
    const port = policyPort(
      { id, kind: 'doc', attributes: {} },
      {
        'draft#1': [
          { capability: 'doc.legal', ruleId: 'legal-first' },
          { capability: 'doc.publish', ruleId: 'publish-check' },
          // Met by the stream's next step, review: not routed a second time.
          { capability: 'doc.review', ruleId: 'review-first' },
        ],
        'draft#1>legal-first': [{ capability: 'doc.legal', ruleId: 'legal-again' }],
      },
    );
    const graph = graphOn(db.store, reviewLoop, port);
    await graph.start(item(id));
    await graph.completeStep(id, 'draft#1', {});
    expect(port.keys()).toEqual(['draft#1', 'draft#1>legal-first', 'draft#1>publish-check']);
    // An answer out of turn is not taken yet (the driver feeds it in once the gate reaches it).
    expect(await graph.completeStep(id, 'draft#1>publish-check', { approved: true })).toMatchObject({
      ok: false,
      reason: 'not_waiting',
    });
    await graph.completeStep(id, 'draft#1>legal-first', { approved: true });
    expect(port.keys().at(-1)).toBe('draft#1>legal-again');
    await graph.completeStep(id, 'draft#1>publish-check', { approved: true });
    const last = await graph.completeStep(id, 'draft#1>legal-again', { approved: true });
    expect(last.status).toMatchObject({ state: 'running', waitingOn: [{ key: 'review#1' }] });
    // Routing is idempotent by key; the gate asks again for what an answer required each time it resumes.
    expect([...new Set(port.keys())]).toEqual([
      'draft#1',
      'draft#1>legal-first',
      'draft#1>publish-check',
      'draft#1>legal-again',
      'review#1',
    ]);
  });

  it('makes a join wait for the steps required of a branch', async () => {
    const fanOut = streamFrom(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - to: [review, legal]
      - id: review
        capability: doc.review
      - id: legal
        capability: doc.legal
      - id: publish
        capability: doc.publish
        join: [review, legal]
`);
    const id = '00000000-0000-4000-8000-000000000046';
    const port = policyPort(
      { id, kind: 'doc', attributes: {} },
      {
        'legal#1': [{ capability: 'doc.review', ruleId: 'second-look' }],
      },
    );
    const graph = graphOn(db.store, fanOut, port);
    await graph.start(item(id));
    await graph.completeStep(id, 'draft#1', {});
    await graph.completeStep(id, 'legal#1', {});
    await graph.completeStep(id, 'review#1', {});
    expect(port.keys()).not.toContain('publish#1');
    expect(port.keys()).toContain('legal#1>second-look');
    await graph.completeStep(id, 'legal#1>second-look', { approved: true });
    expect(port.keys().at(-1)).toBe('publish#1');
  });
});

describe('conditions see the item as it is now', () => {
  it('takes an edge on an attribute the item got after the stream started', async () => {
    const network = await loadExampleNetwork();
    const refundStream = network.valueStreams.find((v) => v.kind === 'refund')!;
    const id = '00000000-0000-4000-8000-000000000051';
    const port = policyPort({ id, kind: 'refund', attributes: {} });
    const graph = graphOn(db.store, refundStream, port);
    // No amount at the start: the safe default would send it to approval.
    await graph.start({ id, kind: 'refund', attributes: {} });
    await graph.completeStep(id, 'triage#1', { attributes: { amount: 120, currency: 'EUR' } });
    await graph.completeStep(id, 'assess#1', { eligible: true });
    expect(port.keys()).toEqual(['triage#1', 'assess#1', 'execute#1']);
    // The triage step's `attributes: result.attributes` gave them to the port; assess sets none.
    expect(port.done[0]?.request.key).toBe('triage#1');
    expect(port.done[0]?.attributes?.({ id, kind: 'refund', attributes: {} })).toEqual({
      amount: 120,
      currency: 'EUR',
    });
    expect(port.done[1]?.attributes).toBeUndefined();
  });

  it('sees attributes that changed between two steps of a stream that sets none', async () => {
    const id = '00000000-0000-4000-8000-000000000052';
    const port = policyPort({ id, kind: 'doc', attributes: {} });
    const stream = streamFrom(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next: review
      - id: review
        capability: doc.review
        next:
          - when: has(item.attributes.legal) && item.attributes.legal == true
            to: legal
          - to: publish
      - id: legal
        capability: doc.legal
      - id: publish
        capability: doc.publish
`);
    const graph = graphOn(db.store, stream, port);
    await graph.start(item(id));
    await graph.completeStep(id, 'draft#1', {});
    port.setAttributes({ legal: true });
    await graph.completeStep(id, 'review#1', {});
    expect(port.keys()).toEqual(['draft#1', 'review#1', 'legal#1']);
  });
});
