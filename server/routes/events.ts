// GET /v1/events: the event log as Server-Sent Events. Each event's SSE id is its log id, so a client
// that reconnects with Last-Event-ID (or ?after=) gets every event it missed, once, in order.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { EventFeed } from '../../capabilities/event-feed.js';
import { FlowmeshError } from '../../work/errors.js';
import {
  EVENT_TYPE_PATTERN,
  type EventFilter,
  eventPayload,
  normalizeTypes,
} from '../../work/event-filter.js';
import { seesAllItems } from '../../work/principal.js';
import type { AppEnv } from '../context.js';
import { commonErrors } from '../schemas.js';

const EVENT_ID_RE = /^\d{1,15}$/;

const csv = (what: string, pattern: RegExp) =>
  z
    .string()
    .max(2000)
    .transform((v, ctx) => {
      const list = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const item of list) {
        if (!pattern.test(item)) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item)} is not ${what}` });
          return z.NEVER;
        }
      }
      return list;
    });

const EventsQuery = z.object({
  type: csv('an event type (step.completed) or family (escalation.*)', EVENT_TYPE_PATTERN)
    .optional()
    .openapi({
      description: 'Comma-separated event types; `escalation.*` matches a family',
      example: 'step.*,escalation.*',
    }),
  kind: csv('a work-item kind', /^[a-z0-9][a-z0-9._-]{0,63}$/)
    .optional()
    .openapi({ description: 'Comma-separated work-item kinds' }),
  workItemId: z.uuid('must be a UUID').optional(),
  after: z
    .string()
    .regex(EVENT_ID_RE, 'must be an event id (digits)')
    .optional()
    .openapi({ description: 'Resume after this event id (the Last-Event-ID header wins)' }),
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  tags: ['events'],
  summary: 'Live events (Server-Sent Events)',
  description:
    'Streams item state changes and escalations from the event log. Each SSE `id` is the event-log id: ' +
    'reconnect with `Last-Event-ID` (or `?after=`) to resume without missing or repeating an event. ' +
    'Comment lines (`: heartbeat`) keep proxies from closing an idle stream. Operators and admins see every ' +
    'item; other keys see the items they submitted.',
  request: {
    query: EventsQuery,
    headers: z.object({
      'last-event-id': z.string().regex(EVENT_ID_RE, 'must be an event id (digits)').optional(),
    }),
  },
  responses: {
    200: {
      description: 'An endless stream of `event: <type>`, `id: <event id>`, `data: <JSON>` messages',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...commonErrors,
  },
});

export interface EventRouteOptions {
  /** A comment is sent after this much silence. */
  heartbeatMs?: number;
}

export function registerEventRoutes(
  app: OpenAPIHono<AppEnv>,
  feed: EventFeed,
  options: EventRouteOptions = {},
): void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;

  app.openapi(eventsRoute, async (c) => {
    const q = c.req.valid('query');
    const resume = c.req.valid('header')['last-event-id'] ?? q.after;
    const after = resume === undefined ? undefined : Number(resume);
    if (after !== undefined && !Number.isSafeInteger(after)) {
      throw new FlowmeshError('bad_request', 'Last-Event-ID is not an event id', {
        errors: [{ path: 'header.last-event-id', message: 'not an event id' }],
      });
    }
    const principal = c.get('principal');
    const filter: EventFilter = {
      types: normalizeTypes(q.type ?? []),
      kinds: q.kind ?? [],
      workItemId: q.workItemId,
      createdBy: seesAllItems(principal) ? undefined : principal.id,
    };
    // Subscribing before the stream starts makes a database failure a problem response, not a cut stream.
    const subscription = await feed.subscribe({ after, filter });
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => subscription.close());
      try {
        await stream.write(`retry: 2000\n: resuming after ${subscription.cursor}\n\n`);
        while (!stream.aborted && !stream.closed) {
          const events = await subscription.next(heartbeatMs);
          if (stream.aborted) break;
          if (events.length === 0) {
            await stream.write(': heartbeat\n\n');
            continue;
          }
          for (const event of events) {
            await stream.writeSSE({
              id: String(event.id),
              event: event.type,
              data: JSON.stringify(eventPayload(event)),
            });
          }
        }
      } finally {
        subscription.close();
      }
    });
  });
}
