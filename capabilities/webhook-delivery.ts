// The webhook worker, run by the sweeper: fans new events of the log out into delivery rows (under an
// advisory lock, so one instance does it), then sends due deliveries, signed, retrying failures with
// exponential backoff on the injectable clock. Each delivery's attempts are kept as its log.
import { ADVISORY_LOCKS, tryAdvisoryXactLock } from '../store/advisory-locks.js';
import { readEventLogPage } from '../store/event-log.js';
import {
  claimDueDeliveries,
  type DueDelivery,
  insertDeliveries,
  listWebhookRows,
  type NewDelivery,
  recordAttempt,
  setWebhookCursor,
} from '../store/webhooks.js';
import { eventPayload, matchesEvent, normalizeTypes } from '../work/event-filter.js';
import { uuidv7 } from '../work/ids.js';
import type { Core } from './core.js';
import { gapJudgeFor } from './log-gaps.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

export interface WebhookWorkerOptions {
  /** Attempts before a delivery is given up as failed. */
  maxAttempts?: number;
  /** Wait before the second attempt; doubles each time. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A receiver that has not answered within this long has failed the attempt. */
  timeoutMs?: number;
  /** Deliveries sent per run. */
  batchSize?: number;
  fetch?: typeof fetch;
}

export const WEBHOOK_DEFAULTS = {
  maxAttempts: 8,
  backoffBaseMs: 30_000,
  backoffMaxMs: 3_600_000,
  timeoutMs: 10_000,
  batchSize: 50,
} as const;

/** Wait after the n-th failed attempt: base × 2^(n−1), capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Turns new events of the log into deliveries for every webhook that wants them. Returns how many. */
export async function fanOutWebhookEvents(core: Core, limit = 500): Promise<number> {
  const gaps = gapJudgeFor(core.store, core.clock);
  return core.store.transaction(async (tx) => {
    if (!(await tryAdvisoryXactLock(tx, ADVISORY_LOCKS.webhookFanOut))) return 0;
    const now = core.clock.now();
    let created = 0;
    for (const hook of await listWebhookRows(tx)) {
      const page = await readEventLogPage(tx, { after: hook.cursor, limit });
      const safe = gaps.safeRows(page.events, hook.cursor, page.horizon);
      const last = safe.at(-1);
      if (!last) continue;
      const filter = { types: normalizeTypes(hook.events), kinds: [] };
      const deliveries: NewDelivery[] = safe
        .filter((e) => matchesEvent(filter, e))
        .map((e) => ({
          id: uuidv7(now.getTime()),
          webhookId: hook.id,
          eventId: e.id,
          eventType: e.type,
          payload: eventPayload(e),
          traceparent: e.traceparent,
          state: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          log: [],
          createdAt: now,
          updatedAt: now,
        }));
      await insertDeliveries(tx, deliveries);
      await setWebhookCursor(tx, hook.id, last.id);
      created += deliveries.length;
    }
    return created;
  });
}

async function send(
  delivery: DueDelivery,
  at: Date,
  options: Required<Pick<WebhookWorkerOptions, 'timeoutMs'>> & { fetch: typeof fetch },
): Promise<{ status: number | null; error: string | null; durationMs: number }> {
  const body = JSON.stringify(delivery.payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'flowmesh-webhooks/1',
    [SIGNATURE_HEADER]: await signWebhook(delivery.secret, body, at),
    'flowmesh-event-id': String(delivery.eventId),
    'flowmesh-event-type': delivery.eventType,
    'flowmesh-delivery-id': delivery.id,
  };
  if (delivery.traceparent) headers.traceparent = delivery.traceparent;
  const started = performance.now();
  try {
    const res = await options.fetch(delivery.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    const durationMs = Math.round(performance.now() - started);
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: ok ? null : `receiver answered ${res.status}`, durationMs };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { status: null, error: message.slice(0, 500), durationMs };
  }
}

/** Sends the deliveries that are due; returns how many attempts were made. */
export async function deliverDueWebhooks(core: Core, options: WebhookWorkerOptions = {}): Promise<number> {
  const o = { ...WEBHOOK_DEFAULTS, ...options, fetch: options.fetch ?? globalThis.fetch };
  const now = core.clock.now();
  const due = await core.store.transaction((tx) =>
    claimDueDeliveries(tx, { now, holdUntil: new Date(now.getTime() + o.timeoutMs * 2), limit: o.batchSize }),
  );
  await Promise.all(
    due.map(async (d) => {
      const result = await send(d, now, o);
      const at = core.clock.now();
      const succeeded = result.status !== null && result.error === null;
      const exhausted = !succeeded && d.attempts >= o.maxAttempts;
      await recordAttempt(core.store.db, d.id, {
        state: succeeded ? 'succeeded' : exhausted ? 'failed' : 'pending',
        nextAttemptAt:
          succeeded || exhausted
            ? at
            : new Date(at.getTime() + backoffMs(d.attempts, o.backoffBaseMs, o.backoffMaxMs)),
        now: at,
        entry: { attempt: d.attempts, at: at.toISOString(), ...result },
      });
      if (!succeeded)
        core.logger.warn('webhook delivery failed', {
          deliveryId: d.id,
          attempt: d.attempts,
          error: result.error,
        });
    }),
  );
  return due.length;
}

/** One run of the worker: fan out, then deliver. */
export async function runWebhookWorker(
  core: Core,
  options: WebhookWorkerOptions = {},
): Promise<{ fannedOut: number; attempted: number }> {
  const fannedOut = await fanOutWebhookEvents(core);
  const attempted = await deliverDueWebhooks(core, options);
  return { fannedOut, attempted };
}
