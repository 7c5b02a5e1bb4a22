// POST /mcp: MCP over Streamable HTTP, stateless (a fresh SDK server and transport per request, so any
// instance can answer any request). In front of the transport: the app's body limit, Origin check, API key.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { type Tracer, trace } from '@opentelemetry/api';
import type { Core } from '../../capabilities/core.js';
import { type Authenticator, authMiddleware } from '../auth.js';
import type { AppEnv } from '../context.js';
import { checkOrigin } from './origin.js';
import { flowmeshResources } from './resources.js';
import { createMcpCatalog, createMcpServer, type McpServerDeps } from './server.js';
import type { ToolDefinition } from './tool.js';
import { flowmeshTools } from './tools/index.js';

export const MCP_PATH = '/mcp';

export interface McpEndpointOptions {
  core: Core;
  auth: Authenticator;
  allowedOrigins: readonly string[];
  bodyLimit: number;
  tracer?: Tracer | undefined;
  version?: string | undefined;
  tools?: readonly ToolDefinition[];
}

export function mcpServerDeps(options: {
  core: Core;
  tracer?: Tracer | undefined;
  version?: string | undefined;
  tools?: readonly ToolDefinition[];
}): McpServerDeps {
  return {
    core: options.core,
    catalog: createMcpCatalog(options.tools ?? flowmeshTools, flowmeshResources),
    tracer: options.tracer ?? trace.getTracer('flowmesh'),
    version: options.version ?? '0.1.0',
  };
}

function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * Calls that may wait (claim_work with wait_seconds) or asked for progress get an SSE stream, which keeps
 * the connection alive while they wait; everything else gets one plain JSON response.
 */
export function wantsStream(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => {
    if (typeof m !== 'object' || m === null) return false;
    const { method, params } = m as { method?: unknown; params?: Record<string, unknown> };
    if (method !== 'tools/call' || typeof params !== 'object' || params === null) return false;
    const meta = params._meta as Record<string, unknown> | undefined;
    if (meta && meta.progressToken !== undefined) return true;
    const args = params.arguments as Record<string, unknown> | undefined;
    return params.name === 'claim_work' && typeof args?.wait_seconds === 'number' && args.wait_seconds > 0;
  });
}

export function registerMcpEndpoint(app: OpenAPIHono<AppEnv>, options: McpEndpointOptions): void {
  const deps = mcpServerDeps(options);
  app.use(MCP_PATH, checkOrigin(options.allowedOrigins));
  app.use(MCP_PATH, authMiddleware(options.auth));

  // Stateless: there is no session to open a standalone stream on or to delete.
  app.on(['GET', 'DELETE'], MCP_PATH, (c) =>
    jsonRpcError(405, -32000, `${c.req.method} is not supported: this MCP endpoint is stateless, use POST`, {
      allow: 'POST',
    }),
  );

  app.post(MCP_PATH, async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return jsonRpcError(400, -32700, 'Parse error: the request body is not valid JSON');
    }
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !wantsStream(body),
      maxRequestBodySize: options.bodyLimit,
    });
    const server = createMcpServer(deps, c.get('principal'));
    await server.connect(transport);
    // A client that goes away ends its calls: closing the server aborts their signals, so a waiting
    // claim_work stops waiting instead of taking work nobody will receive.
    c.req.raw.signal.addEventListener('abort', () => void server.close(), { once: true });
    const response = await transport.handleRequest(c.req.raw, { parsedBody: body });
    // A JSON response is complete here; an SSE stream is closed by the transport once every answer is sent.
    if (!response.headers.get('content-type')?.includes('text/event-stream')) await server.close();
    return response;
  });
}
