// The unauthenticated system routes: health, readiness, the OpenAPI document and the /docs page.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(async () => {
  await t?.close();
});

describe('health', () => {
  it('answers /healthz without a key', async () => {
    const res = await t.request('GET', '/healthz', { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers /readyz with the database driver when the database answers', async () => {
    const res = await t.request('GET', '/readyz', { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', database: t.runtime.store.kind });
  });

  it('answers /readyz with 503 when the database does not answer', async () => {
    const down = await createTestRuntime();
    await down.database.store.close();
    const res = await down.request('GET', '/readyz', { key: null });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'unavailable' });
    await down.close().catch(() => {});
  });

  it('echoes a sane X-Request-Id and makes one up otherwise', async () => {
    const given = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'req-42' } });
    expect(given.headers.get('x-request-id')).toBe('req-42');
    const odd = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'bad id\twith tab' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing the work-item and api-key routes', async () => {
    const res = await t.request<{
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    }>('GET', '/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.info.title).toBe('flowmesh');
    const routes = Object.entries(res.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/work-items',
        'GET /v1/work-items',
        'GET /v1/work-items/{id}',
        'POST /v1/work-items/{id}/cancel',
        'GET /v1/work-items/{id}/events',
        'POST /v1/api-keys',
        'DELETE /v1/api-keys/{id}',
      ]),
    );
    expect(Object.keys(res.body.components.schemas)).toEqual(
      expect.arrayContaining(['SubmitWorkItem', 'WorkItem', 'Problem']),
    );
    expect(res.body.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});

describe('/docs', () => {
  let withAssets: TestRuntime;
  beforeAll(async () => {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
    withAssets = await createTestRuntime({
      docsAssets: { load: (name) => readFile(join(dir, name), 'utf8').catch(() => undefined) },
    });
  });
  afterAll(async () => {
    await withAssets?.close();
  });

  it('serves an HTML page that loads only local assets', async () => {
    const res = await withAssets.request('GET', '/docs', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const sources = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual([
      '/docs/assets/swagger-ui.css',
      '/docs/assets/swagger-ui-bundle.js',
      '/docs/assets/init.js',
    ]);
  });

  it('serves the Swagger UI assets from the installed package', async () => {
    const css = await withAssets.request('GET', '/docs/assets/swagger-ui.css', { key: null });
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(css.text.length).toBeGreaterThan(10_000);
    const js = await withAssets.request('GET', '/docs/assets/swagger-ui-bundle.js', { key: null });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.text).toContain('SwaggerUIBundle');
    const init = await withAssets.request('GET', '/docs/assets/init.js', { key: null });
    expect(init.text).toContain("url: '/openapi.json'");
  });

  it('answers 404 for assets it does not serve', async () => {
    const res = await withAssets.request('GET', '/docs/assets/package.json', { key: null });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});
