// DNS-rebinding protection for /mcp: a browser page may only reach the endpoint from an allowed Origin.
// Requests without Origin come from non-browser clients (agents, CLIs) and pass.
import type { MiddlewareHandler } from 'hono';
import { FlowmeshError } from '../../work/errors.js';
import type { AppEnv } from '../context.js';

/** Allowed when nothing else is configured: pages served from this machine, on any port. */
export const DEFAULT_ALLOWED_ORIGINS = [
  'http://localhost:*',
  'http://127.0.0.1:*',
  'http://[::1]:*',
  'https://localhost:*',
  'https://127.0.0.1:*',
  'https://[::1]:*',
] as const;

interface OriginPattern {
  protocol: string;
  hostname: string;
  /** `*` for any port; '' for the scheme's default port. */
  port: string;
}

/** Parses `https://app.example.com`, `http://localhost:*`; returns undefined for anything else. */
export function parseOriginPattern(value: string): OriginPattern | undefined {
  const m = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\*|\d{1,5}))?$/i.exec(value.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const protocol = `${m[1].toLowerCase()}:`;
  const port = m[3] ?? '';
  const defaultPort = protocol === 'https:' ? '443' : '80';
  return { protocol, hostname: m[2].toLowerCase(), port: port === defaultPort ? '' : port };
}

export function originAllowed(origin: string, patterns: readonly OriginPattern[]): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // An Origin is scheme://host[:port] and nothing more; `null` (sandboxed pages, file://) is never allowed.
  if (url.origin !== origin.toLowerCase() && `${url.origin}` !== origin) return false;
  return patterns.some(
    (p) =>
      p.protocol === url.protocol && p.hostname === url.hostname && (p.port === '*' || p.port === url.port),
  );
}

export function checkOrigin(allowed: readonly string[]): MiddlewareHandler<AppEnv> {
  const patterns = allowed.map(parseOriginPattern).filter((p): p is OriginPattern => p !== undefined);
  return async function validateOrigin(c, next) {
    const origin = c.req.header('origin');
    if (origin !== undefined && !originAllowed(origin, patterns)) {
      throw new FlowmeshError(
        'forbidden',
        `Origin ${origin} may not use /mcp; add it to FLOWMESH_ALLOWED_ORIGINS to allow browser pages from it`,
      );
    }
    await next();
  };
}
