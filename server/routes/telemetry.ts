// Telemetry routes: OTLP/HTTP trace intake from agents, realized value streams (JSON, Mermaid, SVG),
// an item's trace, flow metrics, and Prometheus /metrics.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import { getWorkItem } from '../../capabilities/work-items.js';
import { ingestAgentSpans } from '../../telemetry/agent-spans.js';
import {
  createOtlpProtobufCodec,
  type DecodedSpan,
  spansFromOtlp,
  spansFromOtlpProtobuf,
} from '../../telemetry/otlp-decode.js';
import { toMermaid, toSvg } from '../../telemetry/render.js';
import {
  getFlowMetrics,
  getItemTrace,
  getValueStream,
  listValueStreams,
  type TelemetryCore,
} from '../../telemetry/service.js';
import type { Telemetry } from '../../telemetry/setup.js';
import { FlowmeshError } from '../../work/errors.js';
import { IsoDateTimeSchema, KindSchema } from '../../work/work-item.js';
import { requireRole } from '../auth.js';
import type { AppEnv } from '../context.js';
import { commonErrors, IdParam, problemResponseSpec } from '../schemas.js';

/** A window's end: a real date-time between 1970 and 9999 (the database stores no year 0, which a
 * default `from` a week before `to` = 0001-01-01 would be). */
const Instant = IsoDateTimeSchema.transform((s) => new Date(s)).optional();
const WindowQuery = z.object({ from: Instant, to: Instant });

const ops = requireRole('admin', 'operator');

const listRoute = createRoute({
  method: 'get',
  path: '/v1/value-streams',
  tags: ['telemetry'],
  summary: 'Kinds seen in the span store, with item counts and WIP',
  middleware: [ops] as const,
  responses: {
    200: {
      description: 'Kinds',
      content: {
        'application/json': {
          schema: z.object({
            valueStreams: z.array(
              z.object({
                kind: z.string(),
                items: z.int(),
                wip: z.int(),
                firstAt: z.string(),
                lastAt: z.string(),
              }),
            ),
          }),
        },
      },
    },
    ...commonErrors,
  },
});

const streamRoute = createRoute({
  method: 'get',
  path: '/v1/value-streams/{kind}',
  tags: ['telemetry'],
  summary: 'The realized value stream of a kind, rebuilt from hop spans',
  description:
    'Steps with the nodes that did them, edges with counts (handoffs and rework loops included), wait and work ' +
    'percentiles, lead time, flow efficiency, throughput, WIP and the bottleneck. `format=mermaid` returns a ' +
    'Mermaid flowchart, `format=svg` an SVG drawing.',
  middleware: [ops] as const,
  request: {
    params: z.object({
      kind: KindSchema.clone().openapi({ param: { name: 'kind', in: 'path' }, example: 'refund' }),
    }),
    query: WindowQuery.extend({ format: z.enum(['json', 'mermaid', 'svg']).default('json') }),
  },
  responses: {
    200: {
      description: 'The map',
      content: {
        'application/json': { schema: z.any() },
        'text/vnd.mermaid': { schema: z.string() },
        'image/svg+xml': { schema: z.string() },
      },
    },
    404: problemResponseSpec('No spans of this kind yet'),
    ...commonErrors,
  },
});

const traceRoute = createRoute({
  method: 'get',
  path: '/v1/work-items/{id}/trace',
  tags: ['telemetry'],
  summary: "The item's hops in time order, with nodes, outcomes and decisions, and its agents' spans",
  request: { params: IdParam },
  responses: {
    200: {
      description: 'The trace',
      content: { 'application/json': { schema: z.object({ traceId: z.string(), spans: z.array(z.any()) }) } },
    },
    404: problemResponseSpec('No such work item'),
    ...commonErrors,
  },
});

const flowRoute = createRoute({
  method: 'get',
  path: '/v1/metrics/flow',
  tags: ['telemetry'],
  summary: 'Flow metrics: velocity, time, load, efficiency, distribution, per-node utilization',
  middleware: [ops] as const,
  request: { query: WindowQuery.extend({ groupBy: z.enum(['kind', 'capability', 'node']).default('kind') }) },
  responses: {
    200: { description: 'Flow metrics', content: { 'application/json': { schema: z.any() } } },
    ...commonErrors,
  },
});

const tracesRoute = createRoute({
  method: 'post',
  path: '/v1/traces',
  tags: ['telemetry'],
  summary: 'OTLP/HTTP trace intake (JSON or protobuf) for agent spans',
  description:
    "Spans must carry the trace id of an item's traceparent; those under a step's claim traceparent count as " +
    'work time of that step. Spans of unknown traces are rejected (OTLP partial success).',
  middleware: [requireRole('admin', 'operator', 'agent')] as const,
  responses: {
    200: {
      description: 'Accepted (possibly partially)',
      content: { 'application/json': { schema: z.any() }, 'application/x-protobuf': { schema: z.any() } },
    },
    ...commonErrors,
  },
});

async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const encoding = req.headers.get('content-encoding')?.toLowerCase();
  if (!req.body) return new Uint8Array();
  if (!encoding || encoding === 'identity') return new Uint8Array(await req.arrayBuffer());
  if (encoding !== 'gzip')
    throw new FlowmeshError(
      'unsupported_media_type',
      `Content-Encoding ${encoding} is not supported; use gzip or none`,
    );
  // The compressed body is already within the limit; its inflated size is held to the same limit.
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const reader = req.body.pipeThrough(new DecompressionStream('gzip')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw new FlowmeshError('payload_too_large', `the decompressed body is larger than ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof FlowmeshError) throw error;
    throw new FlowmeshError('bad_request', 'body is not valid gzip');
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function registerTelemetryRoutes(
  app: OpenAPIHono<AppEnv>,
  core: Core,
  telemetry: Telemetry,
  options: { bodyLimit?: number } = {},
): void {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const tcore: TelemetryCore = {
    store: core.store,
    clock: core.clock,
    spanStore: telemetry.spanStore,
    flush: () => telemetry.flushStore(),
    nodes: core.network.nodes,
  };
  const codec = createOtlpProtobufCodec();

  app.openapi(listRoute, async (c) => c.json({ valueStreams: await listValueStreams(tcore) }, 200));

  app.openapi(streamRoute, async (c) => {
    const q = c.req.valid('query');
    const vs = await getValueStream(tcore, c.req.valid('param').kind, { from: q.from, to: q.to });
    if (q.format === 'mermaid')
      return c.body(toMermaid(vs), 200, { 'content-type': 'text/vnd.mermaid; charset=utf-8' });
    if (q.format === 'svg') return c.body(toSvg(vs), 200, { 'content-type': 'image/svg+xml; charset=utf-8' });
    return c.json(vs, 200);
  });

  app.openapi(traceRoute, async (c) => {
    const id = c.req.valid('param').id;
    const item = await getWorkItem(core, c.get('principal'), id);
    const spans = await getItemTrace(tcore, id);
    return c.json({ workItemId: id, traceId: item.traceId, spans }, 200);
  });

  app.openapi(flowRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(await getFlowMetrics(tcore, q.groupBy, { from: q.from, to: q.to }), 200);
  });

  app.openapi(tracesRoute, async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    const protobuf = type === 'application/x-protobuf' || type === 'application/protobuf';
    if (!protobuf && type !== 'application/json') {
      throw new FlowmeshError(
        'unsupported_media_type',
        `OTLP/HTTP bodies are application/x-protobuf or application/json; got ${type || 'no Content-Type'}`,
      );
    }
    const bytes = await readBody(c.req.raw, bodyLimit);
    let spans: DecodedSpan[];
    if (protobuf) spans = spansFromOtlpProtobuf(codec, bytes);
    else {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      } catch (error) {
        throw new FlowmeshError(
          'bad_request',
          `request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      spans = spansFromOtlp(json);
    }
    const principal = c.get('principal');
    const deps = {
      store: core.store,
      spanStore: telemetry.spanStore,
      forward: telemetry.forwardAgentSpans,
    };
    const result = await ingestAgentSpans(deps, spans, {
      nodeId: principal.role === 'agent' ? principal.nodeId : undefined,
    });
    const partial =
      result.rejected > 0 ? { rejectedSpans: result.rejected, errorMessage: result.errorMessage } : undefined;
    if (protobuf) {
      return c.body(new Uint8Array(codec.encodeResponse(partial)), 200, {
        'content-type': 'application/x-protobuf',
      });
    }
    return c.json(partial ? { partialSuccess: partial } : {}, 200);
  });

  // Prometheus scrapes without credentials; the text holds aggregate counts only.
  app.get('/metrics', async (c) =>
    c.body(await telemetry.metrics.prometheus(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );
}
