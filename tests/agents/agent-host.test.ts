// The built-in triage agent in a runtime: it claims intake.triage steps through the same claim and
// complete functions as any node, and its outcome moves the item's value stream on.
import { FakeListChatModel } from '@langchain/core/utils/testing';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentHost } from '../../agents/host.js';
import { createTriageNode } from '../../agents/triage/node.js';
import { findEscalations } from '../../store/router.js';
import { createTestRuntime, loadExampleNetwork, type TestRuntime } from '../support/runtime.js';

interface ItemBody {
  id: string;
  state: string;
  traceId: string;
  steps: { capability: string; state: string; nodeId: string | null; result?: unknown }[];
}

let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function submitRequest(text: string, extra: Record<string, unknown> = {}) {
  const res = await t!.request<ItemBody>('POST', '/v1/work-items', {
    body: {
      kind: 'refund',
      title: 'Customer email',
      attributes: { amount: 900, pii: false },
      payload: { text },
      ...extra,
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body;
}
const getItem = async (id: string) => (await t!.request<ItemBody>('GET', `/v1/work-items/${id}`)).body;

describe('the built-in triage agent', () => {
  it('claims the triage step as the triage-agent node, completes it offline, and the stream goes on to assess', async () => {
    t = await createTestRuntime();
    const { id } = await submitRequest('I was charged twice for order 1042, please refund the 900 EUR.');
    expect(await t.runtime.agents.tick()).toBe(1);
    const item = await getItem(id);
    expect(item.steps.map((s) => [s.capability, s.state, s.nodeId])).toEqual([
      ['intake.triage', 'completed', 'triage-agent'],
      ['refund.assess', 'queued', null],
    ]);
    expect(item.steps[0]?.result).toMatchObject({
      kind: 'refund',
      capability: 'refund.assess',
      source: 'rules',
    });
    expect(await t.runtime.agents.tick()).toBe(0);
  });

  it('claims no more steps in a round than its node capacity allows', async () => {
    const network = await loadExampleNetwork();
    t = await createTestRuntime({
      network: {
        ...network,
        nodes: network.nodes.map((n) => (n.id === 'triage-agent' ? { ...n, capacity: 2 } : n)),
      },
    });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await submitRequest(`Refund please, order ${i}`)).id);
    expect(await t.runtime.agents.tick()).toBe(2);
    expect(await t.runtime.agents.tick()).toBe(1);
    for (const id of ids) expect((await getItem(id)).steps[0]?.state).toBe('completed');
  });

  it('fails the step with the reasons and opens an escalation when the model never gives valid output', async () => {
    t = await createTestRuntime();
    const node = t.runtime.network.nodes.find((n) => n.id === 'triage-agent')!;
    const model = new FakeListChatModel({ responses: ['not json', '{"kind": 1}', 'still not json'] });
    const triage = await createTriageNode({
      node,
      capabilities: t.runtime.network.capabilities,
      model: { model, provider: 'fake', name: 'fake' },
    });
    const host = createAgentHost(t.runtime, [triage]);
    const { id } = await submitRequest('refund please');
    expect(await host.tick()).toBe(1);
    const item = await getItem(id);
    expect(item.steps[0]).toMatchObject({
      capability: 'intake.triage',
      state: 'failed',
      nodeId: 'triage-agent',
    });
    const open = await findEscalations(t.runtime.store, t.runtime.store.db, id);
    expect(open.map((e) => e.reason).join('\n')).toContain('no valid triage in 3 attempts');
  });

  it('records its model calls as spans in the item trace', async () => {
    t = await createTestRuntime();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const node = t.runtime.network.nodes.find((n) => n.id === 'triage-agent')!;
    const good = {
      kind: 'refund',
      capability: 'refund.assess',
      attributes: {},
      priority: 50,
      confidence: 0.9,
    };
    const triage = await createTriageNode({
      node,
      capabilities: t.runtime.network.capabilities,
      model: {
        model: new FakeListChatModel({ responses: [JSON.stringify(good)] }),
        provider: 'fake',
        name: 'fake',
      },
      tracer: provider.getTracer('test'),
    });
    const { id, traceId } = await submitRequest('refund please');
    await createAgentHost(t.runtime, [triage]).tick();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.spanContext().traceId).toBe(traceId);
    expect(spans[0]?.attributes['gen_ai.operation.name']).toBe('chat');
    expect((await getItem(id)).steps.map((s) => s.capability)).toEqual(['intake.triage', 'refund.assess']);
    await provider.shutdown();
  });
});
