// Decodes OTLP/HTTP trace requests (JSON and protobuf) into plain spans, validating every field.
// Protobuf is decoded by protobufjs against the OTLP v1 trace definitions below (field numbers as in
// opentelemetry-proto: collector/trace/v1, trace/v1, common/v1, resource/v1; events and links skipped).
import protobuf from 'protobufjs';
import { z } from 'zod';
import { FlowmeshError, formatPath } from '../work/errors.js';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
`;

export interface OtlpProtobufCodec {
  decodeRequest(bytes: Uint8Array): unknown;
  encodeResponse(response: { rejectedSpans: number; errorMessage: string } | undefined): Uint8Array;
}

export function createOtlpProtobufCodec(): OtlpProtobufCodec {
  const root = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root;
  const request = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
  const response = root.lookupType('opentelemetry.proto.ExportTraceServiceResponse');
  return {
    decodeRequest(bytes) {
      const message = request.decode(bytes);
      // Ids become hex below; 64-bit times stay exact as decimal strings.
      return request.toObject(message, { longs: String, bytes: String, defaults: false, arrays: true });
    },
    encodeResponse(partial) {
      const body = partial ? { partialSuccess: partial } : {};
      return response.encode(response.fromObject(body)).finish();
    },
  };
}

export type AttributeValue =
  | string
  | number
  | boolean
  | AttributeValue[]
  | { [key: string]: AttributeValue }
  | null;

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  startAt: Date;
  endAt: Date;
  /** The span's attributes over its resource's, as the span store keeps them. */
  attributes: Record<string, AttributeValue>;
  statusCode: number;
  /** What forwarding the span to the collector needs to send it as it came. */
  otlp: {
    /** OTLP numbering: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
    kind: number;
    startNanos: bigint;
    endNanos: bigint;
    statusMessage: string;
    spanAttributes: Record<string, AttributeValue>;
    resource: Record<string, AttributeValue>;
    scope: { name: string; version: string };
  };
}

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

type RawAnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: RawAnyValue[] };
  kvlistValue?: { values?: { key: string; value?: RawAnyValue }[] };
  bytesValue?: string;
};

const AnyValueSchema: z.ZodType<RawAnyValue> = z.lazy(() =>
  z.object({
    stringValue: z.string().max(65_536).optional(),
    boolValue: z.boolean().optional(),
    intValue: z.union([z.string().regex(/^-?\d{1,20}$/), z.number().int()]).optional(),
    doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).optional(),
    arrayValue: z.object({ values: z.array(AnyValueSchema).max(1000).optional() }).optional(),
    kvlistValue: z.object({ values: z.array(KeyValueSchema).max(1000).optional() }).optional(),
    bytesValue: z.string().optional(),
  }),
);
const KeyValueSchema = z.object({ key: z.string().min(1).max(512), value: AnyValueSchema.optional() });
const Nanos = z
  .union([z.string().regex(/^\d{1,20}$/, 'must be a decimal count of nanoseconds'), z.number().int().min(0)])
  .transform((v) => BigInt(v));
const KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const SpanSchema = z.object({
  traceId: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.string().regex(HEX_TRACE, 'must be 32 hex digits')),
  spanId: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.string().regex(HEX_SPAN, 'must be 16 hex digits')),
  parentSpanId: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.union([z.literal(''), z.string().regex(HEX_SPAN, 'must be 16 hex digits or empty')]))
    .optional(),
  name: z.string().min(1).max(1024),
  kind: z.union([z.number().int(), z.string()]).optional(),
  startTimeUnixNano: Nanos,
  endTimeUnixNano: Nanos,
  attributes: z.array(KeyValueSchema).max(512).optional(),
  status: z
    .object({ code: z.union([z.number().int(), z.string()]).optional(), message: z.string().optional() })
    .optional(),
});

const RequestSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: z.array(KeyValueSchema).max(512).optional() }).optional(),
        scopeSpans: z
          .array(
            z.object({
              scope: z
                .object({ name: z.string().max(1024).optional(), version: z.string().max(1024).optional() })
                .optional(),
              spans: z.array(SpanSchema).max(10_000).optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

function anyValue(v: RawAnyValue | undefined): AttributeValue {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return attributesOf(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function attributesOf(
  list: { key: string; value?: RawAnyValue }[] | undefined,
): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Validates an OTLP JSON (or decoded protobuf) request; returns its spans with resource attributes merged. */
export function spansFromOtlp(input: unknown): DecodedSpan[] {
  const parsed = RequestSchema.safeParse(input);
  if (!parsed.success) {
    const errors = parsed.error.issues
      .slice(0, 20)
      .map((i) => ({ path: formatPath(i.path), message: i.message }));
    throw new FlowmeshError(
      'bad_request',
      `not a valid OTLP trace export request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      { errors },
    );
  }
  const out: DecodedSpan[] = [];
  for (const rs of parsed.data.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans ?? []) {
        if (s.endTimeUnixNano < s.startTimeUnixNano) {
          throw new FlowmeshError('bad_request', `span ${s.spanId} ends before it starts`, {
            errors: [{ path: 'endTimeUnixNano', message: 'must not be before startTimeUnixNano' }],
          });
        }
        const spanAttributes = attributesOf(s.attributes);
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ? s.parentSpanId : null,
          name: s.name,
          startAt: new Date(Number(s.startTimeUnixNano / 1_000_000n)),
          endAt: new Date(Number(s.endTimeUnixNano / 1_000_000n)),
          attributes: { ...resource, ...spanAttributes },
          statusCode: typeof s.status?.code === 'number' ? s.status.code : 0,
          otlp: {
            kind: typeof s.kind === 'number' ? s.kind : (KINDS[s.kind ?? ''] ?? 0),
            startNanos: s.startTimeUnixNano,
            endNanos: s.endTimeUnixNano,
            statusMessage: s.status?.message ?? '',
            spanAttributes,
            resource,
            scope,
          },
        });
      }
    }
  }
  return out;
}

function base64ToHex(b64: string): string {
  const bin = atob(b64);
  let hex = '';
  for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return hex;
}

/** Protobuf ids arrive as base64 bytes; OTLP JSON spells them in hex. */
function idsToHex(decoded: unknown): unknown {
  const req = decoded as { resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
  for (const rs of req.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        for (const key of ['traceId', 'spanId', 'parentSpanId']) {
          const v = s[key];
          if (typeof v === 'string') s[key] = base64ToHex(v);
        }
  return decoded;
}

export function spansFromOtlpProtobuf(codec: OtlpProtobufCodec, bytes: Uint8Array): DecodedSpan[] {
  let decoded: unknown;
  try {
    decoded = idsToHex(codec.decodeRequest(bytes));
  } catch (error) {
    throw new FlowmeshError(
      'bad_request',
      `body is not a protobuf ExportTraceServiceRequest: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return spansFromOtlp(decoded);
}
