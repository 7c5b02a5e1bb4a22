// `flowmesh mcp --node <id>`: the same MCP tools over stdio for a local agent. The API key comes from
// FLOWMESH_API_KEY; stdout carries only MCP messages, so logs go to stderr.
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { FlowmeshError } from '../../work/errors.js';
import { jsonLogger } from '../../work/logger.js';
import type { Principal } from '../../work/principal.js';
import { parseConfig } from '../config.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { mcpServerDeps } from './endpoint.js';
import { createMcpServer } from './server.js';

export const MCP_STDIO_USAGE =
  'mcp --node <id> — serve the MCP tools over stdio for one node (key in FLOWMESH_API_KEY)';

export interface StdioIo {
  stdin: Readable;
  stdout: Writable;
  stderr: (line: string) => void;
}

/** The principal the session acts as: a key bound to the node, or an admin key acting for it. */
export async function stdioPrincipal(
  runtime: Runtime,
  key: string | undefined,
  nodeId: string,
): Promise<Principal> {
  if (!key) {
    throw new FlowmeshError(
      'unauthorized',
      'set FLOWMESH_API_KEY to an agent key bound to the node (or an admin key)',
    );
  }
  if (!runtime.network.nodes.some((n) => n.id === nodeId)) {
    throw new FlowmeshError(
      'not_found',
      `node ${nodeId} is not in the network file ${runtime.config.networkFile}`,
    );
  }
  const principal = await runtime.auth.authenticate(key);
  if (!principal)
    throw new FlowmeshError('unauthorized', 'FLOWMESH_API_KEY is not a valid key (or was revoked)');
  if (principal.nodeId === nodeId) return principal;
  if (principal.nodeId === null && principal.role === 'admin') return { ...principal, nodeId };
  throw new FlowmeshError(
    'forbidden',
    principal.nodeId
      ? `FLOWMESH_API_KEY is bound to node ${principal.nodeId}, not ${nodeId}`
      : `a ${principal.role} key is bound to no node; use an agent key created with nodeId ${nodeId}`,
  );
}

/** Serves until stdin ends or the process is told to stop; resolves to the exit code. */
export async function runMcpStdio(
  args: string[],
  env: Record<string, string | undefined>,
  io: StdioIo,
): Promise<number> {
  const { values } = parseArgs({ args, options: { node: { type: 'string' } }, strict: true });
  if (!values.node) {
    io.stderr(`usage: flowmesh ${MCP_STDIO_USAGE}`);
    return 2;
  }
  const config = parseConfig(env);
  const logger = jsonLogger(config.logLevel, io.stderr);
  const runtime = await createRuntime(config, { logger });
  try {
    const principal = await stdioPrincipal(runtime, env.FLOWMESH_API_KEY, values.node);
    const server = createMcpServer(
      mcpServerDeps({ core: runtime, tracer: runtime.telemetry.tracer }),
      principal,
    );
    const closed = new Promise<void>((resolve) => {
      server.onclose = resolve;
    });
    const stop = () => void server.close();
    io.stdin.once('end', stop);
    io.stdin.once('close', stop);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await server.connect(new StdioServerTransport(io.stdin, io.stdout));
    logger.info('flowmesh MCP on stdio', { node: values.node, database: runtime.store.kind });
    await closed;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    return 0;
  } finally {
    await runtime.close();
  }
}
