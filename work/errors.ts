// The one error class of flowmesh: a closed set of codes, a message that says what failed and how to fix it.

export const ERROR_CODES = [
  'bad_request',
  'invalid',
  'not_found',
  'conflict',
  'idempotency_mismatch',
  'idempotency_in_flight',
  'policy_denied',
  'lease_lost',
  'illegal_transition',
  'unauthorized',
  'forbidden',
  'payload_too_large',
  'unsupported_media_type',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** One offending field: `path` is dotted (`attributes.amount`, `steps.0.capability`). */
export interface FieldError {
  path: string;
  message: string;
}

export interface FlowmeshErrorOptions {
  cause?: unknown;
  errors?: FieldError[];
  /** Extra machine-readable facts for the client (current state, rule ids...). */
  details?: Record<string, unknown>;
}

export class FlowmeshError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[];
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: FlowmeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlowmeshError';
    this.code = code;
    this.errors = options.errors ?? [];
    this.details = options.details ?? {};
  }
}

export function isFlowmeshError(value: unknown): value is FlowmeshError {
  return value instanceof FlowmeshError;
}

/** Formats a path of keys and indexes the way errors name fields: `attributes.amount`, `nodes[2].capacity`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
