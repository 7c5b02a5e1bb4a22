// The flowmesh MCP server for one caller: tools and resources bound to the caller's principal (its node).
// Built on the SDK's low-level Server rather than McpServer so that invalid arguments come back the way
// the HTTP API reports them (code `invalid`, each field named) instead of the SDK's generic message.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Tracer } from '@opentelemetry/api';
import type { Core } from '../../capabilities/core.js';
import { parseTraceparent } from '../../work/ids.js';
import type { Principal } from '../../work/principal.js';
import { validationError } from '../validation.js';
import { type McpResources, readResource } from './resources.js';
import { asFlowmeshError, type ToolDefinition, toolError, toolJsonSchema, toolResult } from './tool.js';
import { withToolSpan } from './trace.js';

export const MCP_INSTRUCTIONS = [
  'flowmesh routes work items to nodes by capability. This connection acts for one node (the API key decides which).',
  'Loop: claim_work (optionally wait_seconds) -> do the step -> complete_work, fail_work or handoff_work with the',
  'lease_token you got; call heartbeat before the lease expires on long steps. escalate when a person must look.',
  'Pass the traceparent from claim_work result _meta as _meta.traceparent on later calls so your work joins the trace.',
].join(' ');

/** Tools and resources prepared once per process: JSON Schemas are computed here, not per request. */
export interface McpCatalog {
  tools: ReadonlyMap<string, ToolDefinition>;
  listed: Tool[];
  resources: McpResources;
}

export function createMcpCatalog(tools: readonly ToolDefinition[], resources: McpResources): McpCatalog {
  return {
    tools: new Map(tools.map((t) => [t.name, t])),
    listed: tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: toolJsonSchema(t.input),
      outputSchema: toolJsonSchema(t.output),
      ...(t.annotations ? { annotations: t.annotations } : {}),
    })),
    resources,
  };
}

export interface McpServerDeps {
  core: Core;
  catalog: McpCatalog;
  tracer: Tracer;
  version: string;
}

export function createMcpServer(deps: McpServerDeps, principal: Principal): Server {
  const { core, catalog, tracer } = deps;
  const server = new Server(
    { name: 'flowmesh', title: 'flowmesh', version: deps.version },
    {
      capabilities: { tools: { listChanged: false }, resources: { listChanged: false } },
      instructions: MCP_INSTRUCTIONS,
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: catalog.listed }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: args, _meta } = request.params;
    const tool = catalog.tools.get(name);
    // An unknown tool is a protocol error (the caller asked for something that was never listed).
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${name}; tools/list names them`);
    const given = _meta?.traceparent;
    const traceparent = typeof given === 'string' && parseTraceparent(given) ? given : undefined;
    const attributes: Record<string, string> = { 'flowmesh.principal.id': principal.id };
    if (principal.nodeId) attributes['flowmesh.node.id'] = principal.nodeId;

    return withToolSpan(tracer, name, traceparent, attributes, async (span) => {
      const parsed = tool.input.safeParse(args ?? {});
      const outcome = parsed.success
        ? await tool
            .run(
              {
                core,
                principal,
                traceparent,
                signal: extra.signal,
                annotate: (attributes) => span.setAttributes(attributes),
              },
              parsed.data,
            )
            .then(toolResult, (error: unknown) => {
              const failure = asFlowmeshError(error);
              if (failure.code === 'internal')
                core.logger.error('MCP tool failed', {
                  tool: name,
                  error: String((error as Error)?.stack ?? error),
                });
              return toolError(failure, name);
            })
        : toolError(validationError(parsed.error, 'json'), name);
      if (outcome.isError) {
        const code = (outcome._meta?.problem as { code?: string } | undefined)?.code ?? 'internal';
        span.setAttribute('error.type', code);
      }
      return outcome;
    });
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: catalog.resources.listed }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: catalog.resources.templates,
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) =>
    readResource(catalog.resources, { core, principal }, request.params.uri),
  );
  return server;
}
