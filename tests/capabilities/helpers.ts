// Helpers for the router's suites: submit, claim and act through the HTTP API of a test runtime.
import type { Network } from '../../capabilities/network-schema.js';
import { NetworkSchema } from '../../capabilities/network-schema.js';
import { findEscalations } from '../../store/router.js';
import type { TestRuntime } from '../support/runtime.js';

export interface ClaimBody {
  workItem: { id: string; priority: number; title: string | null };
  step: { id: string; capability: string; attempt: number; nodeId: string };
  lease: { token: string; expiresAt: string };
}

export async function submit(
  t: TestRuntime,
  capability: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; stepId: string; body: Record<string, unknown> }> {
  const res = await t.request<{ id: string; steps: { id: string }[] }>('POST', '/v1/work-items', {
    body: { kind: 'test', capability, ...extra },
  });
  if (res.status !== 201) throw new Error(`submit failed: ${res.status} ${res.text}`);
  return { id: res.body.id, stepId: res.body.steps[0]?.id ?? '', body: res.body as never };
}

export async function claim(
  t: TestRuntime,
  nodeId: string,
  options: { key?: string; body?: Record<string, unknown> } = {},
): Promise<ClaimBody | undefined> {
  const res = await t.request<ClaimBody>('POST', `/v1/nodes/${nodeId}/claims`, {
    ...(options.key ? { key: options.key } : {}),
    ...(options.body ? { body: options.body } : {}),
  });
  if (res.status === 204) return undefined;
  if (res.status !== 200) throw new Error(`claim failed: ${res.status} ${res.text}`);
  return res.body;
}

export function act(
  t: TestRuntime,
  action: string,
  c: ClaimBody,
  body: Record<string, unknown> = {},
  key?: string,
) {
  return t.request<Record<string, unknown>>('POST', `/v1/work-items/${c.workItem.id}/${action}`, {
    body: { stepId: c.step.id, leaseToken: c.lease.token, ...body },
    ...(key ? { key } : {}),
  });
}

export async function item(t: TestRuntime, id: string) {
  const res = await t.request<{
    state: string;
    steps: {
      id: string;
      state: string;
      attempt: number;
      nodeId: string | null;
      capability: string;
      routing: string;
      eligibleNodes: string[];
      exclusions: { nodeId: string; reason: string }[];
    }[];
  }>('GET', `/v1/work-items/${id}`);
  return res.body;
}

export async function eventTypes(t: TestRuntime, id: string): Promise<string[]> {
  const res = await t.request<{ events: { type: string }[] }>('GET', `/v1/work-items/${id}/events`);
  return res.body.events.map((e) => e.type);
}

export function escalations(t: TestRuntime, id: string) {
  return findEscalations(t.runtime.store, t.runtime.store.db, id);
}

/** A small network for focused tests. */
export function network(input: unknown): Network {
  return NetworkSchema.parse(input);
}
