// The triage agent as a built-in node: reads the claimed item's free text, completes the step with the
// triage (its confidence goes with it, so a low-confidence policy can send it to a person) or fails it
// with the reasons when the model never gave valid output. Its model calls join the item's trace.
import { ROOT_CONTEXT, TraceFlags, type Tracer, trace } from '@opentelemetry/api';
import type { Capability, NetworkNode } from '../../capabilities/network-schema.js';
import { parseTraceparent } from '../../work/ids.js';
import type { JsonValue } from '../../work/json.js';
import type { AgentResult, BuiltInAgent } from '../host.js';
import { TriageAgent, type TriageModel } from './graph.js';
import { loadTriageModel } from './model.js';
import type { TriageRequest } from './schema.js';

/** The request text: payload.text (or payload.request, or the payload as JSON), with the title. */
export function requestOf(item: { title: string | null; payload?: unknown }): TriageRequest {
  const p = item.payload as Record<string, unknown> | null | undefined;
  const fromPayload =
    typeof p?.text === 'string'
      ? p.text
      : typeof p?.request === 'string'
        ? p.request
        : p !== null && p !== undefined
          ? JSON.stringify(p)
          : '';
  const text = fromPayload || item.title || '(empty request)';
  return { ...(item.title ? { title: item.title.slice(0, 500) } : {}), text: text.slice(0, 20_000) };
}

/** A node runs the built-in triage agent when it says so in the network file: attributes.builtin. */
export function isTriageNode(node: NetworkNode): boolean {
  return (
    node.kind === 'ai_agent' &&
    node.mode === 'pull' &&
    node.attributes.builtin === 'triage' &&
    node.capabilities.some((c) => c.capability === 'intake.triage')
  );
}

export async function createTriageNode(options: {
  node: NetworkNode;
  capabilities: readonly Capability[];
  tracer?: Tracer | undefined;
  /** A model instead of the node's `attributes.model` (tests). */
  model?: TriageModel | undefined;
}): Promise<BuiltInAgent> {
  const spec = options.node.attributes.model;
  const model =
    options.model ??
    (typeof spec === 'string' && spec !== '' && spec !== 'rule-based'
      ? await loadTriageModel(spec)
      : undefined);
  const agent = new TriageAgent({ capabilities: options.capabilities, model, tracer: options.tracer });
  return {
    nodeId: options.node.id,
    async handle(claim): Promise<AgentResult> {
      const tp = parseTraceparent(claim.traceparent);
      const parent = tp
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: tp.traceId,
            spanId: tp.spanId,
            traceFlags: tp.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
            isRemote: true,
          })
        : undefined;
      const outcome = await agent.triage(requestOf(claim.workItem), parent);
      if (outcome.status === 'classified') {
        return {
          kind: 'complete',
          result: { ...outcome.triage, source: outcome.source } as JsonValue,
          confidence: outcome.triage.confidence,
        };
      }
      return { kind: 'fail', reason: `${outcome.reason}: ${outcome.errors.join('; ')}`, retryable: false };
    },
  };
}
