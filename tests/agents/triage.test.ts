// The triage agent: a fake chat model (never a live one) for the model path, and the offline rule-based
// classifier on a table of example requests.
import type { BaseMessage } from '@langchain/core/messages';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { TriageAgent, type TriageModel } from '../../agents/triage/graph.js';
import { parseModelSpec } from '../../agents/triage/model.js';
import { loadNetworkFile } from '../../capabilities/network-file.js';
import type { Network } from '../../capabilities/network-schema.js';

// Read directly (not through tests/support/runtime.ts) so these tests need no server.
const loadExampleNetwork = () => loadNetworkFile('examples/network.yaml');

/** A fake chat model that also keeps every conversation it was sent. */
class RecordingChatModel extends FakeListChatModel {
  readonly seen: BaseMessage[][] = [];
  override async _generate(
    messages: BaseMessage[],
    ...rest: Parameters<FakeListChatModel['_generate']> extends [unknown, ...infer R] ? R : never
  ) {
    this.seen.push(messages);
    return super._generate(messages, ...rest);
  }
}

const fake = (responses: string[]) => {
  const model = new RecordingChatModel({ responses });
  const triageModel: TriageModel = { model, provider: 'fake', name: 'fake-triage' };
  return { model, triageModel };
};

const good = {
  kind: 'refund',
  capability: 'refund.assess',
  attributes: { amount: 120, currency: 'EUR', pii: false },
  priority: 50,
  confidence: 0.92,
};

let network: Network;
beforeAll(async () => {
  network = await loadExampleNetwork();
});

describe('triage with a chat model', () => {
  it('returns the model triage when its output is valid', async () => {
    const { model, triageModel } = fake([JSON.stringify(good)]);
    const agent = new TriageAgent({ capabilities: network.capabilities, model: triageModel });
    const outcome = await agent.triage({
      text: 'I was charged twice for order 1042, please refund 120 EUR.',
    });
    expect(outcome).toEqual({ status: 'classified', triage: good, source: 'model', attempts: 1 });
    const prompt = model.seen[0]!.map((m) => m.text).join('\n');
    expect(prompt).toContain('refund.assess');
    expect(prompt).toContain('charged twice for order 1042');
  });

  it('accepts JSON inside a Markdown code fence', async () => {
    const { triageModel } = fake([`\`\`\`json\n${JSON.stringify(good)}\n\`\`\``]);
    const agent = new TriageAgent({ capabilities: network.capabilities, model: triageModel });
    expect(await agent.triage({ text: 'refund please' })).toMatchObject({
      status: 'classified',
      attempts: 1,
    });
  });

  it('retries malformed output, telling the model what was wrong, and takes the corrected answer', async () => {
    const { model, triageModel } = fake(['Sure! It is a refund.', JSON.stringify(good)]);
    const agent = new TriageAgent({ capabilities: network.capabilities, model: triageModel });
    const outcome = await agent.triage({ text: 'refund my order' });
    expect(outcome).toEqual({ status: 'classified', triage: good, source: 'model', attempts: 2 });
    expect(model.seen).toHaveLength(2);
    const retry = model.seen[1]!;
    expect(retry.at(-2)?.text).toBe('Sure! It is a refund.');
    expect(retry.at(-1)?.text).toContain('not JSON');
  });

  it('escalates after the attempts run out, with every reason', async () => {
    const { model, triageModel } = fake([
      '{"kind": "refund"}',
      JSON.stringify({ ...good, capability: 'refund.teleport' }),
      JSON.stringify({ ...good, confidence: 7 }),
      JSON.stringify(good),
    ]);
    const agent = new TriageAgent({ capabilities: network.capabilities, model: triageModel, maxAttempts: 3 });
    const outcome = await agent.triage({ text: 'refund my order' });
    expect(outcome.status).toBe('escalated');
    if (outcome.status !== 'escalated') return;
    expect(outcome.attempts).toBe(3);
    expect(model.seen).toHaveLength(3);
    expect(outcome.errors.some((e) => e.startsWith('attempt 1: capability:'))).toBe(true);
    expect(outcome.errors).toContain(
      'attempt 2: capability: refund.teleport is not one of the listed capabilities',
    );
    expect(outcome.errors.some((e) => e.startsWith('attempt 3: confidence:'))).toBe(true);
  });

  it('counts a failing model call as an attempt and escalates when it keeps failing', async () => {
    const broken = new FakeListChatModel({ responses: ['x'] });
    broken._generate = async () => {
      throw new Error('connection reset');
    };
    const triageModel: TriageModel = { model: broken, provider: 'fake', name: 'broken' };
    const agent = new TriageAgent({ capabilities: network.capabilities, model: triageModel, maxAttempts: 2 });
    const outcome = await agent.triage({ text: 'refund' });
    expect(outcome).toMatchObject({ status: 'escalated', attempts: 2 });
    if (outcome.status === 'escalated') expect(outcome.errors[0]).toContain('connection reset');
  });

  it('records each model call as a GenAI span', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { triageModel } = fake(['nope', JSON.stringify(good)]);
    const agent = new TriageAgent({
      capabilities: network.capabilities,
      model: triageModel,
      tracer: provider.getTracer('test'),
    });
    await agent.triage({ text: 'refund' });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['chat fake-triage', 'chat fake-triage']);
    expect(spans[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'fake',
      'gen_ai.request.model': 'fake-triage',
      'flowmesh.attempt': 1,
    });
    await provider.shutdown();
  });
});

describe('triage offline, with the rule-based classifier', () => {
  const table: [string, { kind: string; capability: string; attributes?: object; minConfidence?: number }][] =
    [
      [
        'I was charged twice for my order, please refund €120.',
        {
          kind: 'refund',
          capability: 'refund.assess',
          attributes: { amount: 120, currency: 'EUR', pii: false },
        },
      ],
      [
        'Can I get my money back? I paid 1,250.50 USD for a plan I never used.',
        { kind: 'refund', capability: 'refund.assess', attributes: { amount: 1250.5, currency: 'USD' } },
      ],
      [
        'Checkout is down for all customers, error 503 since 10:00. URGENT',
        { kind: 'incident', capability: 'incident.triage' },
      ],
      ['How do I change the email address on my account?', { kind: 'question', capability: 'kb.answer' }],
      [
        'Please refund my order, my email is jane.doe@example.com',
        { kind: 'refund', capability: 'refund.assess', attributes: { pii: true } },
      ],
      ['Hello, I have a thing to discuss with you.', { kind: 'request', capability: 'intake.triage' }],
    ];

  it.each(table)('classifies %j', async (text, expected) => {
    const agent = new TriageAgent({ capabilities: network.capabilities });
    const outcome = await agent.triage({ text });
    expect(outcome).toMatchObject({ status: 'classified', source: 'rules', triage: expected });
  });

  it('is deterministic: the same request gives the same triage', async () => {
    const agent = new TriageAgent({ capabilities: network.capabilities });
    const text = 'Refund of $80 please, the parcel never arrived.';
    expect(await agent.triage({ text })).toEqual(await agent.triage({ text }));
  });

  it('has low confidence when it recognises nothing, and more when a rule matches', async () => {
    const agent = new TriageAgent({ capabilities: network.capabilities });
    const unknown = await agent.triage({ text: 'Hello there.' });
    const refund = await agent.triage({ text: 'Please refund my order.' });
    if (unknown.status !== 'classified' || refund.status !== 'classified') throw new Error('expected triage');
    expect(unknown.triage.confidence).toBeLessThan(0.5);
    expect(refund.triage.confidence).toBeGreaterThanOrEqual(0.8);
  });

  it('raises the priority of urgent requests', async () => {
    const agent = new TriageAgent({ capabilities: network.capabilities });
    const calm = await agent.triage({ text: 'The export page is broken.' });
    const urgent = await agent.triage({ text: 'The export page is broken in production, urgent!' });
    if (calm.status !== 'classified' || urgent.status !== 'classified') throw new Error('expected triage');
    expect(urgent.triage.priority).toBeGreaterThan(calm.triage.priority);
  });

  it('never picks a capability the network does not have', async () => {
    const agent = new TriageAgent({ capabilities: [{ id: 'intake.triage', description: '' }] });
    const outcome = await agent.triage({ text: 'Please refund €50' });
    expect(outcome).toMatchObject({ triage: { capability: 'intake.triage' } });
  });
});

describe('choosing a model by configuration', () => {
  it('reads provider:model and refuses anything else with the list of providers', () => {
    expect(parseModelSpec('openai:gpt-4o-mini')).toEqual({ provider: 'openai', name: 'gpt-4o-mini' });
    expect(() => parseModelSpec('gpt-4o')).toThrow(/providers: openai, anthropic/);
    expect(() => parseModelSpec('nosuch:model')).toThrow(/provider:model/);
  });
});
