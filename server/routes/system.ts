// Unauthenticated system routes: liveness, readiness, problem type descriptions.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Core } from '../../capabilities/core.js';
import { pingDatabase } from '../../store/health.js';
import { ERROR_CODES, type ErrorCode } from '../../work/errors.js';
import type { AppEnv } from '../context.js';
import { PROBLEM_STATUS, PROBLEM_TITLES } from '../problem.js';

export function registerSystemRoutes(app: OpenAPIHono<AppEnv>, core: Core): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await pingDatabase(core.store);
      return c.json({ status: 'ready', database: core.store.kind });
    } catch (error) {
      core.logger.warn('readiness check failed', { error: String(error) });
      return c.json(
        { status: 'unavailable', database: core.store.kind, detail: 'database did not answer' },
        503,
      );
    }
  });
  app.get('/problems/:code', (c) => {
    const code = c.req.param('code') as ErrorCode;
    if (!ERROR_CODES.includes(code)) return c.notFound();
    return c.json({ type: `/problems/${code}`, title: PROBLEM_TITLES[code], status: PROBLEM_STATUS[code] });
  });
}
