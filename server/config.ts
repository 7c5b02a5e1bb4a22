// Configuration from the environment, validated once at start; nothing else reads process.env.
import { z } from 'zod';
import { type TelemetryConfig, TelemetryEnvSchema, telemetryConfigFrom } from '../telemetry/config.js';
import { FlowmeshError, formatPath } from '../work/errors.js';
import { DEFAULT_ALLOWED_ORIGINS, parseOriginPattern } from './mcp/origin.js';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  FLOWMESH_DATA_DIR: z.string().default('./.flowmesh'),
  FLOWMESH_NETWORK: z.string().default('examples/network.yaml'),
  /** A policy file or a folder of `*.yaml` rule files. */
  FLOWMESH_POLICIES: z.string().default('examples/policies'),
  /** Reload the policy set when its files change (development). */
  FLOWMESH_POLICIES_WATCH: z.stringbool().default(false),
  FLOWMESH_ADMIN_KEY: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  FLOWMESH_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  FLOWMESH_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  FLOWMESH_PUBLIC_URL: optionalString.pipe(z.url().optional()),
  /** Browser origins allowed to call /mcp, comma-separated; `http://host:*` allows any port. */
  FLOWMESH_ALLOWED_ORIGINS: optionalString
    .transform((v) => (v === undefined ? [...DEFAULT_ALLOWED_ORIGINS] : v.split(',').map((o) => o.trim())))
    .pipe(
      z.array(
        z.string().refine((o) => parseOriginPattern(o) !== undefined, {
          error: (issue) =>
            `${String(issue.input)} is not an origin such as https://app.example.com or http://localhost:*`,
        }),
      ),
    ),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  dataDir: string;
  networkFile: string;
  policiesPath: string;
  watchPolicies: boolean;
  adminKey: string | undefined;
  logLevel: LogLevel;
  bodyLimit: number;
  publicUrl: string | undefined;
  /** Origins allowed to call /mcp from a browser (requests without Origin always pass). */
  allowedOrigins: string[];
  /** Keep idempotency keys this long (at least 24 h). */
  idempotencyTtlMs: number;
  /** Whether start-up may create and print a development admin key. */
  devCredentials: boolean;
  /** OpenTelemetry (OTEL_* variables) and span-store retention. */
  telemetry: TelemetryConfig;
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = ConfigSchema.extend(TelemetryEnvSchema.shape).safeParse(env);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
    throw new FlowmeshError(
      'invalid',
      `invalid configuration:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
      { errors },
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    dataDir: e.FLOWMESH_DATA_DIR,
    networkFile: e.FLOWMESH_NETWORK,
    policiesPath: e.FLOWMESH_POLICIES,
    watchPolicies: e.FLOWMESH_POLICIES_WATCH,
    adminKey: e.FLOWMESH_ADMIN_KEY,
    logLevel: e.FLOWMESH_LOG_LEVEL,
    bodyLimit: e.FLOWMESH_BODY_LIMIT,
    publicUrl: e.FLOWMESH_PUBLIC_URL,
    allowedOrigins: e.FLOWMESH_ALLOWED_ORIGINS,
    idempotencyTtlMs: 24 * 3600 * 1000,
    devCredentials: true,
    telemetry: telemetryConfigFrom(e),
  };
}
