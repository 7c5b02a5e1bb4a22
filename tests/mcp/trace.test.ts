import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpServerDeps } from '../../server/mcp/endpoint.js';
import { createMcpServer } from '../../server/mcp/server.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';
import { mcpTestNetwork } from './network.js';
import { problemOf, structured } from './support.js';

// The MCP server in process over the SDK's linked in-memory transports, with a tracer of our own.
let t: TestRuntime;
let client: Client;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(async () => {
  t = await createTestRuntime({ network: mcpTestNetwork() });
  const { key } = await t.createKey('agent', 'kb-agent');
  const principal = await t.runtime.auth.authenticate(key);
  if (!principal) throw new Error('key did not authenticate');
  const server = createMcpServer(
    mcpServerDeps({ core: t.runtime, tracer: provider.getTracer('test') }),
    principal,
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'trace-test-agent', version: '1.0.0' });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client?.close();
  await t?.close();
  await provider.shutdown();
});

function spansNamed(name: string) {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

describe('trace context over MCP', () => {
  it('makes every tool call a span, and parents calls that carry _meta.traceparent to it', async () => {
    const submitted = await t.request<{ id: string; traceId: string }>('POST', '/v1/work-items', {
      body: { kind: 'question', capability: 'kb.answer', payload: { question: 'Opening hours?' } },
    });
    const claimed = await client.callTool({ name: 'claim_work', arguments: {} });
    const traceparent = String(claimed._meta?.traceparent);
    const [, traceId, parentSpanId] = traceparent.split('-');
    expect(traceId).toBe(submitted.body.traceId);

    const claimSpan = spansNamed('tools/call claim_work').at(-1);
    expect(claimSpan?.attributes).toMatchObject({
      'gen_ai.tool.name': 'claim_work',
      'mcp.method.name': 'tools/call',
      'flowmesh.node.id': 'kb-agent',
      'flowmesh.work_item.id': submitted.body.id,
      'flowmesh.capability': 'kb.answer',
    });

    const { claim } = structured<{
      claim: { workItem: { id: string }; step: { id: string }; lease: { token: string } };
    }>(claimed);
    const lease = { work_item_id: claim.workItem.id, step_id: claim.step.id, lease_token: claim.lease.token };
    await client.callTool({
      name: 'complete_work',
      arguments: { ...lease, result: { answer: 'Nine to five.' } },
      _meta: { traceparent },
    });
    const complete = spansNamed('tools/call complete_work').at(-1);
    expect(complete?.spanContext().traceId).toBe(submitted.body.traceId);
    expect(complete?.parentSpanContext?.spanId).toBe(parentSpanId);

    // A failed call is a span too, marked with the problem code.
    const late = await client.callTool({
      name: 'complete_work',
      arguments: { ...lease, result: { answer: 'again' } },
      _meta: { traceparent },
    });
    expect(problemOf(late).code, JSON.stringify(late)).toBe('lease_lost');
    expect(spansNamed('tools/call complete_work').at(-1)?.attributes['error.type']).toBe('lease_lost');
  });

  it('starts a trace of its own for a call without trace context', async () => {
    await client.callTool({ name: 'list_capabilities', arguments: {} });
    const span = spansNamed('tools/call list_capabilities').at(-1);
    expect(span).toBeDefined();
    expect(span?.parentSpanContext).toBeUndefined();
  });
});
