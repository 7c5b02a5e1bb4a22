// Webhook subscriptions (admin): create (the signing secret is shown once), list, delete, and the
// delivery log of one webhook.
import { latestEventId } from '../store/event-log.js';
import {
  type AttemptLogEntry,
  deleteWebhookRow,
  findWebhookRow,
  insertWebhook,
  listDeliveryRows,
  listWebhookRows,
  type WebhookRow,
} from '../store/webhooks.js';
import { FlowmeshError } from '../work/errors.js';
import { normalizeTypes } from '../work/event-filter.js';
import { randomToken, uuidv7 } from '../work/ids.js';
import type { Principal } from '../work/principal.js';
import type { Core } from './core.js';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface CreatedWebhook extends Webhook {
  /** The signing secret; shown only in this response. */
  secret: string;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: string;
  state: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  log: AttemptLogEntry[];
}

function view(row: WebhookRow): Webhook {
  return { id: row.id, url: row.url, events: row.events, createdAt: row.createdAt.toISOString() };
}

/** Subscribes `url` to events from now on (earlier events are not replayed). */
export async function createWebhook(
  core: Core,
  principal: Principal,
  input: { url: string; events: string[] },
): Promise<CreatedWebhook> {
  const now = core.clock.now();
  // Events committed from now on; a transaction still in flight at this instant is on either side.
  const cursor = await latestEventId(core.store.db);
  const row: WebhookRow = {
    id: uuidv7(now.getTime()),
    url: input.url,
    events: input.events.includes('*') ? ['*'] : normalizeTypes(input.events),
    secret: `whsec_${randomToken(32)}`,
    cursor,
    createdBy: principal.id,
    createdAt: now,
  };
  await insertWebhook(core.store.db, row);
  return { ...view(row), secret: row.secret };
}

export async function listWebhooks(core: Core): Promise<Webhook[]> {
  return (await listWebhookRows(core.store.db)).map(view);
}

function notFound(id: string): FlowmeshError {
  return new FlowmeshError('not_found', `webhook ${id} does not exist; GET /v1/webhooks lists them`);
}

export async function deleteWebhook(core: Core, id: string): Promise<void> {
  if (!(await deleteWebhookRow(core.store.db, id))) throw notFound(id);
}

export async function listWebhookDeliveries(
  core: Core,
  id: string,
  q: { state?: WebhookDelivery['state'] | undefined; limit: number },
): Promise<WebhookDelivery[]> {
  if (!(await findWebhookRow(core.store.db, id))) throw notFound(id);
  const rows = await listDeliveryRows(core.store.db, id, q);
  return rows.map((r) => ({
    id: r.id,
    eventId: String(r.eventId),
    eventType: r.eventType,
    state: r.state as WebhookDelivery['state'],
    attempts: r.attempts,
    nextAttemptAt: r.state === 'pending' ? r.nextAttemptAt.toISOString() : null,
    deliveredAt: r.deliveredAt ? r.deliveredAt.toISOString() : null,
    createdAt: r.createdAt.toISOString(),
    log: r.log as AttemptLogEntry[],
  }));
}
