// What an MCP tool is here: a zod input and output schema and a function of (core, principal, args) that
// calls the same core function as the HTTP route. Results and failures are translated in one place.
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Core } from '../../capabilities/core.js';
import { FlowmeshError, isFlowmeshError } from '../../work/errors.js';
import type { Principal } from '../../work/principal.js';
import { problemBody } from '../problem.js';

export interface ToolContext {
  core: Core;
  principal: Principal;
  /** The caller's `_meta.traceparent` (W3C), when it sent one. */
  traceparent: string | undefined;
  /** Aborted when the client cancels the call or goes away. */
  signal: AbortSignal;
  /** Adds facts (work item, step, capability) to the tool call's span. */
  annotate(attributes: Record<string, string | number | boolean>): void;
}

export interface ToolOutput<T> {
  structured: T;
  /** One short sentence for models and people; the facts are in `structured`. */
  text: string;
  /** Result `_meta` (trace context for the caller). */
  meta?: Record<string, unknown>;
}

export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations?: ToolAnnotations;
  run(ctx: ToolContext, args: z.output<I>): Promise<ToolOutput<z.input<O>>>;
}

/** Keeps the schemas' types attached to `run` while the list of tools stays one type. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}

/** JSON Schema for tools/list: draft-07 like the SDK, describing what callers send and receive. */
export function toolJsonSchema(schema: z.ZodType): { type: 'object'; [key: string]: unknown } {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  delete (json as Record<string, unknown>).$schema;
  return { ...json, type: 'object' };
}

export function toolResult<T>(output: ToolOutput<T>): CallToolResult {
  return {
    content: [{ type: 'text', text: output.text }],
    structuredContent: output.structured as Record<string, unknown>,
    ...(output.meta ? { _meta: output.meta } : {}),
  };
}

/**
 * A failure as a tool result: `isError`, the HTTP API's problem code first in the text (what a model
 * reads) and the whole problem document under `_meta.problem` (what a program reads).
 */
export function toolError(error: FlowmeshError, tool: string): CallToolResult {
  const problem = problemBody(error, `mcp:tools/call/${tool}`, undefined);
  const lines = [`${error.code}: ${error.message}`, ...error.errors.map((e) => `  ${e.path}: ${e.message}`)];
  return {
    isError: true,
    content: [{ type: 'text', text: lines.join('\n') }],
    _meta: { problem },
  };
}

/** Any thrown value as a FlowmeshError; unexpected ones become `internal` (a bug, logged by the caller). */
export function asFlowmeshError(error: unknown): FlowmeshError {
  if (isFlowmeshError(error)) return error;
  return new FlowmeshError('internal', 'an unexpected error occurred; it has been logged', { cause: error });
}
