// Telemetry settings from the standard OTEL_* variables (and flowmesh's span-store retention), validated once.
import { z } from 'zod';

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

const blankIsUndefined = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** `key=value,key2=value2` as in OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS (values percent-encoded). */
function keyValueList(name: string) {
  return blankIsUndefined.transform((raw, ctx) => {
    const out: Record<string, string> = {};
    if (raw === undefined) return out;
    for (const part of raw.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq <= 0) {
        ctx.addIssue({ code: 'custom', message: `${name} entries must be key=value; got "${part.trim()}"` });
        return z.NEVER;
      }
      try {
        out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `${name} has a malformed percent-encoding in "${part.trim()}"`,
        });
        return z.NEVER;
      }
    }
    return out;
  });
}

/**
 * OTLP/HTTP encodings (OTEL_EXPORTER_OTLP_PROTOCOL). flowmesh defaults to JSON, where the specification
 * suggests protobuf: every collector takes both, and in Node.js the exporters' JSON encoding (native
 * JSON.stringify) costs the service about half the CPU of their protobuf writer (CPU profiles of bench/telemetry).
 */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

const protocol = blankIsUndefined.pipe(
  z
    .enum(OTLP_PROTOCOLS, {
      error: (issue) =>
        issue.input === 'grpc'
          ? 'grpc is not supported: flowmesh exports OTLP over HTTP; use http/protobuf or http/json'
          : 'must be http/protobuf or http/json',
    })
    .optional(),
);

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' });

export const TelemetryEnvSchema = z.object({
  OTEL_SDK_DISABLED: blankIsUndefined.pipe(z.enum(['true', 'false']).optional()),
  OTEL_SERVICE_NAME: blankIsUndefined,
  OTEL_RESOURCE_ATTRIBUTES: keyValueList('OTEL_RESOURCE_ATTRIBUTES'),
  OTEL_EXPORTER_OTLP_ENDPOINT: blankIsUndefined.pipe(httpUrl.optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: blankIsUndefined.pipe(httpUrl.optional()),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: blankIsUndefined.pipe(httpUrl.optional()),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueList('OTEL_EXPORTER_OTLP_HEADERS'),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol,
  OTEL_TRACES_SAMPLER: blankIsUndefined.pipe(z.enum(SAMPLERS).optional()),
  OTEL_TRACES_SAMPLER_ARG: blankIsUndefined.pipe(z.coerce.number<string>().min(0).max(1).optional()),
  OTEL_METRIC_EXPORT_INTERVAL: blankIsUndefined.pipe(z.coerce.number<string>().int().min(100).optional()),
  FLOWMESH_SPAN_RETENTION_DAYS: blankIsUndefined.pipe(
    z.coerce.number<string>().int().min(1).max(3650).optional(),
  ),
});

export interface TelemetryConfig {
  /** OTEL_SDK_DISABLED=true: no export and no HTTP server spans; hop rows still reach the span store. */
  disabled: boolean;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  /** Full URL of the OTLP/HTTP traces endpoint, or undefined for no trace export. */
  tracesEndpoint: string | undefined;
  /** Full URL of the OTLP/HTTP metrics endpoint, or undefined for no metric export. */
  metricsEndpoint: string | undefined;
  headers: Record<string, string>;
  /** How traces are encoded on the wire (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL). */
  tracesProtocol: OtlpProtocol;
  metricsProtocol: OtlpProtocol;
  sampler: SamplerName;
  samplerRatio: number;
  metricExportIntervalMs: number;
  spanRetentionDays: number;
}

function signalUrl(base: string, signal: 'traces' | 'metrics'): string {
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

/** Reads the OTEL_* variables; the caller turns the zod issues into a configuration error. */
export function telemetryConfigFrom(env: z.infer<typeof TelemetryEnvSchema>): TelemetryConfig {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    disabled: env.OTEL_SDK_DISABLED === 'true',
    serviceName: env.OTEL_SERVICE_NAME ?? env.OTEL_RESOURCE_ATTRIBUTES['service.name'] ?? 'flowmesh',
    resourceAttributes: env.OTEL_RESOURCE_ATTRIBUTES,
    tracesEndpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? signalUrl(base, 'traces') : undefined),
    metricsEndpoint:
      env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (base ? signalUrl(base, 'metrics') : undefined),
    headers: env.OTEL_EXPORTER_OTLP_HEADERS,
    tracesProtocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/json',
    metricsProtocol:
      env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/json',
    sampler: env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    metricExportIntervalMs: env.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000,
    spanRetentionDays: env.FLOWMESH_SPAN_RETENTION_DAYS ?? 30,
  };
}

export const defaultTelemetryConfig: TelemetryConfig = telemetryConfigFrom(TelemetryEnvSchema.parse({}));
