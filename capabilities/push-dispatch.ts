// Push dispatch: flowmesh sends push nodes (webhooks, self-service automations) their steps. It
// claims for the node within its capacity (the same claim as pull nodes, so capacity counts the
// steps in flight), POSTs each step with its lease token and a callback URL, and then:
// a 2xx answer with a `result` completes the step; a 2xx without one leaves it claimed for a later
// callback (POST /v1/work-items/:id/complete with the lease token); an error status, a network
// error or a timeout is a retryable failure. A push that never reached the node (connection refused,
// unknown host) goes back to the queue without using up an attempt, and counts against the node's
// circuit breaker. Fencing decides races: whoever acts first with a live lease wins, the other gets
// lease_lost and is ignored.
import { isFlowmeshError } from '../work/errors.js';
import type { JsonValue } from '../work/json.js';
import type { Principal } from '../work/principal.js';
import { stepTraceparent } from '../work/trace-context.js';
import { type Claim, claimNow, claimView } from './claims.js';
import type { Core } from './core.js';
import { completeStep, failStep } from './leases.js';
import type { NodeState } from './registry.js';

/** The dispatcher acts with the lease like any holder; it is not a caller with an API key. */
const DISPATCHER: Principal = {
  id: 'system:push-dispatch',
  name: 'push dispatch',
  role: 'admin',
  nodeId: null,
};

export interface PushRequest {
  workItem: Claim['workItem'];
  step: Claim['step'];
  lease: Claim['lease'];
  /** POST {stepId, leaseToken, result} here to complete later (with the node's agent key). */
  callbackUrl: string;
  failUrl: string;
  heartbeatUrl: string;
}

export interface PushResponse {
  status: number;
  body: unknown;
}

/** How a step reaches a push node: HTTP by default; an MCP tool call can be plugged in for agents. */
export interface PushTransport {
  send(
    node: NodeState,
    request: PushRequest,
    traceparent: string,
    signal: AbortSignal,
  ): Promise<PushResponse>;
}

export function httpPushTransport(fetchFn: typeof fetch = fetch): PushTransport {
  return {
    async send(node, request, traceparent, signal) {
      if (!node.endpoint) throw new Error(`push node ${node.id} has no endpoint`);
      const res = await fetchFn(node.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          traceparent,
          'x-flowmesh-lease-token': request.lease.token,
        },
        body: JSON.stringify(request),
        signal,
      });
      const text = await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.status, body };
    },
  };
}

export type PushOutcome = 'completed' | 'accepted' | 'failed' | 'superseded';

export interface DispatchReport {
  sent: number;
  outcomes: { stepId: string; nodeId: string; outcome: PushOutcome; detail?: string }[];
}

export interface PushDispatcher {
  /** Sends every push node the work it has room for; resolves when all answers are handled. */
  dispatch(): Promise<DispatchReport>;
}

/**
 * Errors that mean the request never reached the node (nothing listens there, the host does not
 * resolve or cannot be reached): the step was not delivered, so it costs the step no attempt. A reset
 * or a timeout may come after the node got the step, so those stay failures.
 */
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The connection error code of `error` or of its causes (fetch wraps it: TypeError → cause). */
export function connectionErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_DELIVERED.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function resultOf(body: unknown): { result: JsonValue; confidence?: number } | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  if (!('result' in b)) return undefined;
  return {
    result: (b.result ?? null) as JsonValue,
    ...(typeof b.confidence === 'number' && b.confidence >= 0 && b.confidence <= 1
      ? { confidence: b.confidence }
      : {}),
  };
}

export function createPushDispatcher(
  core: Core,
  options: { transport?: PushTransport } = {},
): PushDispatcher {
  const transport = options.transport ?? httpPushTransport();
  // Nodes whose endpoint could not be reached: no step is claimed for them until the backoff passes
  // (1 s, doubling up to a minute), so a requeued step does not bounce straight back to a dead
  // endpoint. The refusals count against the node's circuit breaker meanwhile.
  const unreachable = new Map<string, { until: number; backoffMs: number }>();

  async function deliver(
    node: NodeState,
    claim: Claim,
    traceparent: string,
  ): Promise<DispatchReport['outcomes'][number]> {
    const base = core.router.settings.publicUrl.replace(/\/$/, '');
    const itemUrl = `${base}/v1/work-items/${claim.workItem.id}`;
    const request: PushRequest = {
      ...claim,
      callbackUrl: `${itemUrl}/complete`,
      failUrl: `${itemUrl}/fail`,
      heartbeatUrl: `${itemUrl}/heartbeat`,
    };
    const ref = { workItemId: claim.workItem.id, stepId: claim.step.id, leaseToken: claim.lease.token };
    const row = { stepId: claim.step.id, nodeId: node.id };
    const target = node.endpoint ?? node.mcp?.url ?? node.id;
    let failure: string;
    let undelivered = false;
    try {
      const res = await transport.send(
        node,
        request,
        traceparent,
        AbortSignal.timeout(node.timeoutSeconds * 1000),
      );
      unreachable.delete(node.id);
      if (res.status >= 200 && res.status < 300) {
        const done = resultOf(res.body);
        if (!done) return { ...row, outcome: 'accepted' };
        await completeStep(core, DISPATCHER, { ...ref, result: done.result, confidence: done.confidence });
        return { ...row, outcome: 'completed' };
      }
      failure = `${target} answered ${res.status}`;
    } catch (error) {
      if (isFlowmeshError(error) && error.code === 'lease_lost') return { ...row, outcome: 'superseded' };
      const name = (error as Error)?.name;
      const code = connectionErrorCode(error);
      undelivered = code !== undefined;
      failure = isFlowmeshError(error)
        ? error.message // the transport's own account, e.g. an agent's MCP tool that answered isError
        : name === 'TimeoutError' || name === 'AbortError'
          ? `no answer from ${target} within ${node.timeoutSeconds} s`
          : code
            ? `could not reach ${target} (${code}); the step was not delivered`
            : `could not reach ${target}: ${(error as Error)?.message ?? String(error)}`;
    }
    if (undelivered) {
      const backoffMs = Math.min(
        MAX_BACKOFF_MS,
        (unreachable.get(node.id)?.backoffMs ?? MIN_BACKOFF_MS / 2) * 2,
      );
      unreachable.set(node.id, { until: core.clock.now().getTime() + backoffMs, backoffMs });
    }
    try {
      await failStep(core, DISPATCHER, {
        ...ref,
        reason: failure,
        retryable: true,
        ...(undelivered ? { cause: 'undelivered' as const } : {}),
      });
      return { ...row, outcome: 'failed', detail: failure };
    } catch (error) {
      // A callback completed it first, or the lease ran out and the sweeper took it back.
      if (isFlowmeshError(error) && error.code === 'lease_lost')
        return { ...row, outcome: 'superseded', detail: failure };
      throw error;
    }
  }

  return {
    async dispatch() {
      const report: DispatchReport = { sent: 0, outcomes: [] };
      const pending: Promise<void>[] = [];
      for (const node of core.router.registry.nodes()) {
        if (node.mode !== 'push' || (!node.endpoint && !options.transport)) continue;
        if ((unreachable.get(node.id)?.until ?? 0) > core.clock.now().getTime()) continue;
        const claimed = await claimNow(core, node, node.capacity);
        for (const c of claimed) {
          report.sent++;
          pending.push(
            deliver(node, claimView(c), stepTraceparent(c.item.traceparent, c.step.id, c.step.attempt)).then(
              (o) => {
                report.outcomes.push(o);
              },
              (error: unknown) => {
                core.logger.warn('push dispatch failed', {
                  nodeId: node.id,
                  stepId: c.step.id,
                  error: String(error),
                });
              },
            ),
          );
        }
      }
      await Promise.all(pending);
      return report;
    },
  };
}
