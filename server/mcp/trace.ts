// Trace context across MCP: a tool call is a span, parented to `_meta.traceparent` when the caller sends one.
// Only @opentelemetry/api: whichever provider the process registered records the spans.
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from '../../work/ids.js';

/** The parent context a W3C traceparent names, or the active context when it is absent or malformed. */
export function contextFromTraceparent(traceparent: unknown) {
  const parsed = typeof traceparent === 'string' ? parseTraceparent(traceparent) : undefined;
  if (!parsed) return context.active();
  return trace.setSpanContext(context.active(), {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.sampled ? 1 : 0,
    isRemote: true,
  });
}

/** The traceparent of a live span, for handing on (undefined when no provider records spans). */
export function traceparentOf(span: Span): string | undefined {
  const ctx = span.spanContext();
  if (!trace.isSpanContextValid(ctx)) return undefined;
  return formatTraceparent({ traceId: ctx.traceId, spanId: ctx.spanId, sampled: (ctx.traceFlags & 1) === 1 });
}

export interface ToolSpanAttributes {
  [key: string]: string | number | boolean;
}

/**
 * Runs `fn` inside a span named after the MCP method and tool (OpenTelemetry MCP and GenAI conventions).
 * The span ends when `fn` settles; `fn` marks failures through the returned helpers.
 */
export async function withToolSpan<T>(
  tracer: Tracer,
  tool: string,
  parentTraceparent: unknown,
  attributes: ToolSpanAttributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = contextFromTraceparent(parentTraceparent);
  return tracer.startActiveSpan(
    `tools/call ${tool}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'mcp.method.name': 'tools/call',
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': tool,
        ...attributes,
      },
    },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
