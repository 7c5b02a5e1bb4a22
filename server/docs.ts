// The API reference at /docs: Swagger UI served from the installed swagger-ui-dist package, so it
// works offline. Assets are read once, lazily, through an injected loader (Node reads node_modules).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context.js';

export interface DocsAssets {
  load(name: 'swagger-ui-bundle.js' | 'swagger-ui.css'): Promise<string | undefined>;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowmesh API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<style>body{margin:0} .topbar{display:none}</style>
</head>
<body>
<div id="api"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true,
  persistAuthorization: true, tryItOutEnabled: true });`;

export function registerDocs(app: OpenAPIHono<AppEnv>, assets: DocsAssets | undefined): void {
  const cache = new Map<string, string | undefined>();
  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/assets/init.js', (c) =>
    c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/docs/assets/:name{swagger-ui-bundle\\.js|swagger-ui\\.css}', async (c) => {
    const name = c.req.param('name') as 'swagger-ui-bundle.js' | 'swagger-ui.css';
    if (!cache.has(name)) cache.set(name, await assets?.load(name));
    const body = cache.get(name);
    if (body === undefined) return c.notFound();
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
}
