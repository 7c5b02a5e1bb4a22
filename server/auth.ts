// Bearer API keys: resolved to a Principal (cached briefly, revocation clears the cache) and checked by role.
import type { MiddlewareHandler } from 'hono';
import { findApiKeyByHash, insertApiKey, revokeApiKey } from '../store/api-keys.js';
import type { Store } from '../store/database.js';
import type { Clock } from '../work/clock.js';
import { FlowmeshError } from '../work/errors.js';
import { sha256Hex } from '../work/hash.js';
import { randomToken, uuidv7 } from '../work/ids.js';
import type { Principal, Role } from '../work/principal.js';
import type { AppEnv } from './context.js';

export const ENV_ADMIN_ID = 'env:admin';
const CACHE_MS = 5_000;

export interface CreatedApiKey {
  id: string;
  name: string;
  role: Role;
  nodeId: string | null;
  prefix: string;
  createdAt: string;
  /** The secret; shown only in this response. */
  key: string;
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | undefined>;
  create(input: { name: string; role: Role; nodeId?: string | undefined }): Promise<CreatedApiKey>;
  revoke(id: string): Promise<boolean>;
}

export function createAuthenticator(deps: {
  store: Store;
  clock: Clock;
  adminKey: string | undefined;
}): Authenticator {
  // Keyed by the token itself, so a cache hit costs no hashing; holding a pending lookup means
  // concurrent requests with the same new key share one database query.
  const cache = new Map<string, { principal: Promise<Principal | undefined>; until: number }>();
  const adminHash = deps.adminKey ? sha256Hex(deps.adminKey) : undefined;

  async function lookup(token: string): Promise<Principal | undefined> {
    const hash = await sha256Hex(token);
    if (adminHash && hash === (await adminHash)) {
      return { id: ENV_ADMIN_ID, name: 'FLOWMESH_ADMIN_KEY', role: 'admin', nodeId: null };
    }
    const record = await findApiKeyByHash(deps.store.db, hash);
    return record && !record.revokedAt
      ? { id: record.id, name: record.name, role: record.role as Role, nodeId: record.nodeId }
      : undefined;
  }

  return {
    authenticate(token) {
      const now = Date.now();
      const hit = cache.get(token);
      if (hit && hit.until > now) return hit.principal;
      const principal = lookup(token);
      if (cache.size > 10_000) cache.clear();
      const entry = { principal, until: now + CACHE_MS };
      cache.set(token, entry);
      // A failed lookup (database down) is not remembered.
      principal.catch(() => {
        if (cache.get(token) === entry) cache.delete(token);
      });
      return principal;
    },
    async create(input) {
      const key = `fm_${randomToken(30)}`;
      const record = {
        id: uuidv7(),
        name: input.name,
        role: input.role,
        nodeId: input.nodeId ?? null,
        prefix: key.slice(0, 10),
        createdAt: deps.clock.now(),
        revokedAt: null,
      };
      await insertApiKey(deps.store.db, { ...record, hash: await sha256Hex(key) });
      return { ...record, createdAt: record.createdAt.toISOString(), key };
    },
    async revoke(id) {
      const revoked = await revokeApiKey(deps.store.db, id, deps.clock.now());
      // Drop cached principals so the key stops working on this instance at once.
      cache.clear();
      return revoked !== undefined;
    },
  };
}

/** Resolves `Authorization: Bearer …` to a principal, or answers 401. */
export function authMiddleware(auth: Authenticator): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw new FlowmeshError('unauthorized', 'missing API key: send Authorization: Bearer <key>');
    }
    const principal = await auth.authenticate(match[1]);
    if (!principal) throw new FlowmeshError('unauthorized', 'invalid or revoked API key');
    c.set('principal', principal);
    await next();
  };
}

/** Lets only the given roles through (admins always pass); others get 403. */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async function checkRole(c, next) {
    const principal = c.get('principal');
    if (principal.role !== 'admin' && !roles.includes(principal.role)) {
      throw new FlowmeshError(
        'forbidden',
        `this action needs one of the roles ${['admin', ...roles].join(', ')}; the key has role ${principal.role}`,
      );
    }
    await next();
  };
}
