// Who is calling: resolved from an API key at the edge, passed to every core function.

export const ROLES = ['admin', 'operator', 'submitter', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The API key id, or `env:admin` for FLOWMESH_ADMIN_KEY. Scopes idempotency keys and item ownership. */
  id: string;
  name: string;
  role: Role;
  /** Agent keys are bound to one node. */
  nodeId: string | null;
}

/** Admins and operators see every item; submitters and agents see the items they submitted. */
export function seesAllItems(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'operator';
}
