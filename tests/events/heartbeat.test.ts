import { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventFeed, type EventFeed } from '../../capabilities/event-feed.js';
import type { AppEnv } from '../../server/context.js';
import { registerEventRoutes } from '../../server/routes/events.js';
import { manualClock } from '../../work/clock.js';
import { silentLogger } from '../../work/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;
let feed: EventFeed;
beforeAll(async () => {
  database = await createTestDatabase();
  feed = createEventFeed({ store: database.store, clock: manualClock(), logger: silentLogger });
});
afterAll(async () => {
  feed?.close();
  await database?.drop();
});

it('sends heartbeat comments while no event arrives, so proxies keep the stream open', async () => {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('principal', { id: 'ops', name: 'ops', role: 'operator', nodeId: null });
    await next();
  });
  registerEventRoutes(app, feed, { heartbeatMs: 10 });
  const res = await app.request('/v1/events');
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while ((text.match(/^: heartbeat$/gm) ?? []).length < 2) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  await reader.cancel();
  expect(text).toMatch(/^retry: \d+$/m);
  expect((text.match(/^: heartbeat$/gm) ?? []).length).toBeGreaterThanOrEqual(2);
  expect(text).not.toMatch(/^data:/m);
});
