// Push to agents that are MCP servers themselves: flowmesh calls the node's tool (`mcp: {url, tool}` in the
// network file) with the SDK client over Streamable HTTP. A result completes the step; `isError`, a
// timeout or an unreachable server fails it (retryable, so the attempts of the capability decide).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { httpPushTransport, type PushRequest, type PushTransport } from '../capabilities/push-dispatch.js';
import { FlowmeshError } from '../work/errors.js';
import type { JsonValue } from '../work/json.js';

export interface McpPushTarget {
  url: string;
  tool: string;
}

/** What the agent's tool receives as arguments (documented in the README). */
export interface McpPushArguments {
  work_item_id: string;
  step_id: string;
  capability: string;
  kind: string;
  title: string | null;
  payload: JsonValue | null;
  attributes: Record<string, JsonValue>;
  attempt: number;
  /** When the lease on the step ends: flowmesh stops waiting for the call before that. */
  deadline: string;
}

export function pushArguments(request: PushRequest): McpPushArguments {
  const { workItem, step, lease } = request;
  return {
    work_item_id: workItem.id,
    step_id: step.id,
    capability: step.capability,
    kind: workItem.kind,
    title: workItem.title,
    payload: workItem.payload,
    attributes: workItem.attributes,
    attempt: step.attempt,
    deadline: lease.expiresAt,
  };
}

export type McpPushOutcome =
  | { kind: 'completed'; result: JsonValue | null; confidence?: number | undefined }
  | { kind: 'failed'; reason: string; retryable: boolean };

export interface McpPushOptions {
  timeoutMs: number;
  /** The item's trace context, sent as `_meta.traceparent` so the agent's spans join the trace. */
  traceparent?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Extra HTTP headers (an API key of the agent's server). */
  headers?: Record<string, string> | undefined;
  clientName?: string;
}

function textOf(result: CallToolResult): string {
  return result.content
    .flatMap((c) => (c.type === 'text' ? [c.text] : []))
    .join('\n')
    .trim();
}

/** The step's result: the tool's structured content, else its text. */
export function outcomeOf(result: CallToolResult): McpPushOutcome {
  const text = textOf(result);
  if (result.isError) {
    return {
      kind: 'failed',
      reason: `the agent's tool reported an error: ${text || '(no text)'}`,
      retryable: true,
    };
  }
  const structured = result.structuredContent as Record<string, JsonValue> | undefined;
  const confidence = typeof structured?.confidence === 'number' ? structured.confidence : undefined;
  return {
    kind: 'completed',
    result: structured ?? (text ? { text } : null),
    ...(confidence !== undefined && confidence >= 0 && confidence <= 1 ? { confidence } : {}),
  };
}

/** Calls the agent's tool once; never throws for the agent's failures, only returns them. */
export async function callAgentTool(
  target: McpPushTarget,
  args: McpPushArguments,
  options: McpPushOptions,
): Promise<McpPushOutcome> {
  const client = new Client({ name: options.clientName ?? 'flowmesh', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(new URL(target.url), {
    requestInit: options.headers ? { headers: options.headers } : {},
  });
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    await client.connect(transport, { timeout: options.timeoutMs, signal });
    const result = (await client.callTool(
      {
        name: target.tool,
        arguments: args as unknown as Record<string, unknown>,
        ...(options.traceparent ? { _meta: { traceparent: options.traceparent } } : {}),
      },
      undefined,
      { timeout: options.timeoutMs, signal },
    )) as CallToolResult;
    return outcomeOf(result);
  } catch (error) {
    const reason = timeout.aborted
      ? `the agent's MCP server did not answer within ${options.timeoutMs} ms`
      : `calling ${target.tool} at ${target.url} failed: ${error instanceof Error ? error.message : String(error)}`;
    return { kind: 'failed', reason, retryable: true };
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * The router's push transport for agents with `mcp: {url, tool}`: a tool call instead of a webhook POST.
 * A completed call answers like a webhook that sent `{result}`; a failed one throws `unavailable` with the
 * reason, which the dispatcher records as a retryable failure. Other push nodes go to `fallback` (webhooks).
 */
export function mcpPushTransport(
  options: { fallback?: PushTransport; call?: typeof callAgentTool } = {},
): PushTransport {
  const fallback = options.fallback ?? httpPushTransport();
  const call = options.call ?? callAgentTool;
  return {
    async send(node, request, traceparent, signal) {
      if (!node.mcp) return fallback.send(node, request, traceparent, signal);
      const outcome = await call(node.mcp, pushArguments(request), {
        timeoutMs: node.timeoutSeconds * 1000,
        traceparent,
        signal,
      });
      if (outcome.kind === 'failed') throw new FlowmeshError('unavailable', outcome.reason);
      return {
        status: 200,
        body: {
          result: outcome.result,
          ...(outcome.confidence === undefined ? {} : { confidence: outcome.confidence }),
        },
      };
    },
  };
}
