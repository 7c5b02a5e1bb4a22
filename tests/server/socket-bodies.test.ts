// Request bodies over a real socket. On Node the body is read from the request stream (server/middleware.ts,
// limitBody) rather than through a web Request as in app.request, so the edge cases are checked here too:
// limits with and without a declared length, chunked uploads, bad JSON, a byte-order mark, content types.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, TEST_ADMIN_KEY, type TestRuntime } from '../support/runtime.js';

let t: TestRuntime;
let server: ReturnType<typeof serve>;
let port: number;

beforeAll(async () => {
  t = await createTestRuntime({ env: { FLOWMESH_BODY_LIMIT: String(64 * 1024) } });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: t.runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      port = info.port;
      resolve();
    });
  });
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await t?.close();
});

interface Sent {
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** Sends `chunks` one write each; with `chunked` no Content-Length is declared. */
function send(
  path: string,
  chunks: (string | Uint8Array)[],
  options: { chunked?: boolean; contentType?: string | null } = {},
): Promise<Sent> {
  const bytes = chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : Buffer.from(c)));
  const length = bytes.reduce((n, b) => n + b.length, 0);
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
  if (options.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(length);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        });
      });
    });
    req.on('error', reject);
    for (const b of bytes) req.write(b);
    req.end();
  });
}

const VALID = { kind: 'refund', capability: 'refund.assess', payload: { amount: 120 } };

describe('request bodies over a socket', () => {
  it('creates an item from a body sent in several chunks', async () => {
    const text = JSON.stringify(VALID);
    const res = await send('/v1/work-items', [text.slice(0, 7), text.slice(7, 20), text.slice(20)], {
      chunked: true,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: 'refund', payload: { amount: 120 }, state: 'open' });
  });

  it('creates an item from a body with a declared length', async () => {
    const res = await send('/v1/work-items', [JSON.stringify(VALID)]);
    expect(res.status).toBe(201);
  });

  it('reads a body that starts with a UTF-8 byte-order mark, as Request.text() does', async () => {
    const res = await send('/v1/work-items', [
      new Uint8Array([0xef, 0xbb, 0xbf]),
      JSON.stringify({ ...VALID, title: 'Rückerstattung' }),
    ]);
    expect(res.status).toBe(201);
    expect(res.body.title).toBe('Rückerstattung');
  });

  it('answers 413 when the declared length is over the limit', async () => {
    const big = JSON.stringify({ ...VALID, payload: { note: 'x'.repeat(70 * 1024) } });
    const res = await send('/v1/work-items', [big]);
    expect(res.status).toBe(413);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('payload_too_large');
  });

  it('answers 413 when an undeclared (chunked) body grows over the limit, and the connection still answers', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    const res = await send(
      '/v1/work-items',
      ['{"kind":"refund","payload":"', ...Array(6).fill(chunk), '"}'],
      {
        chunked: true,
      },
    );
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    // The server is still serving.
    expect((await send('/v1/work-items', [JSON.stringify(VALID)])).status).toBe(201);
  });

  it('accepts a body of exactly the limit size (and rejects it for what it says)', async () => {
    const base = JSON.stringify({ ...VALID, title: '' });
    const fill = 64 * 1024 - base.length;
    const exact = JSON.stringify({ ...VALID, title: 't'.repeat(fill) });
    expect(Buffer.byteLength(exact)).toBe(64 * 1024);
    const res = await send('/v1/work-items', [exact], { chunked: true });
    // Not a 413: the body was read whole and validated (a title that long is a field error).
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body.errors)).toContain('title');
  });

  it('answers 400 for malformed JSON and 415 for another media type', async () => {
    const bad = await send('/v1/work-items', ['{"kind": "refund",']);
    expect(bad.status).toBe(400);
    expect(String(bad.body.detail)).toContain('not valid JSON');
    const form = await send('/v1/work-items', ['kind=refund'], {
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
  });

  it('answers 422 naming the field for an empty JSON object', async () => {
    const res = await send('/v1/work-items', ['{}']);
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body.errors)).toContain('kind');
  });
});
