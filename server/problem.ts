// RFC 9457 problem details: the one shape every error takes over HTTP.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, type FieldError, FlowmeshError } from '../work/errors.js';

export const PROBLEM_STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  invalid: 422,
  not_found: 404,
  conflict: 409,
  idempotency_mismatch: 422,
  idempotency_in_flight: 409,
  policy_denied: 422,
  lease_lost: 409,
  illegal_transition: 409,
  unauthorized: 401,
  forbidden: 403,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  internal: 500,
};

export const PROBLEM_TITLES: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  invalid: 'Invalid request',
  not_found: 'Not found',
  conflict: 'Conflict with the current state',
  idempotency_mismatch: 'Idempotency key reused with a different request',
  idempotency_in_flight: 'Request with this idempotency key is in flight',
  policy_denied: 'Denied by policy',
  lease_lost: 'Lease lost',
  illegal_transition: 'Illegal state transition',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  unavailable: 'Service unavailable',
  internal: 'Internal server error',
};

/** Problem type URIs resolve to a short description served at /problems/{code}. */
export function problemType(code: ErrorCode): string {
  return `/problems/${code}`;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string | undefined;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problemBody(
  error: FlowmeshError,
  instance: string,
  requestId: string | undefined,
): ProblemBody {
  const body: ProblemBody = {
    ...error.details,
    type: problemType(error.code),
    title: PROBLEM_TITLES[error.code],
    status: PROBLEM_STATUS[error.code],
    detail: error.message,
    instance,
    code: error.code,
    requestId,
  };
  if (error.errors.length > 0) body.errors = error.errors;
  return body;
}

export function problemResponse(c: Context, error: FlowmeshError): Response {
  const requestId = c.get('requestId' as never) as string | undefined;
  const body = problemBody(error, new URL(c.req.url).pathname, requestId);
  // A fresh Response drops headers set on the context, so the request id is echoed here too.
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (requestId) headers['x-request-id'] = requestId;
  if (error.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="flowmesh"';
  return new Response(JSON.stringify(body), { status: body.status, headers });
}

export function problem(code: ErrorCode, message: string, errors?: FieldError[]): FlowmeshError {
  return new FlowmeshError(code, message, errors ? { errors } : {});
}
