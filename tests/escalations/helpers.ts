// Helpers for the escalation suites: a small network, and submit / claim / fail through the HTTP API.
import { type Network, NetworkSchema } from '../../capabilities/network-schema.js';
import type { TestRuntime } from '../support/runtime.js';

export const escalationNetwork: Network = NetworkSchema.parse({
  capabilities: [
    { id: 'doc.review', leaseSeconds: 120, maxAttempts: 1 },
    { id: 'doc.publish', leaseSeconds: 60 },
    { id: 'doc.write', leaseSeconds: 3600 },
    { id: 'legal.check', leaseSeconds: 600 },
    { id: 'doc.archive', leaseSeconds: 600 },
  ],
  nodes: [
    {
      id: 'archivists',
      name: 'Archivists',
      kind: 'human_team',
      capacity: 5,
      capabilities: [{ capability: 'doc.archive' }],
    },
    {
      id: 'reviewer',
      name: 'Reviewer agent',
      kind: 'ai_agent',
      capacity: 3,
      capabilities: [{ capability: 'doc.review' }],
    },
    {
      id: 'editors',
      name: 'Editors',
      kind: 'human_team',
      capacity: 2,
      capabilities: [
        { capability: 'doc.review' },
        { capability: 'doc.publish' },
        { capability: 'doc.write' },
      ],
    },
  ],
});

export interface ItemBody {
  id: string;
  state: string;
  steps: {
    id: string;
    state: string;
    capability: string;
    routing: string;
    eligibleNodes: string[];
    attempt: number;
    nodeId: string | null;
  }[];
}

export interface EscalationBody {
  id: string;
  kind: string;
  severity: string;
  state: string;
  workItemId: string;
  stepId: string | null;
  reason: string;
  owner: string | null;
  resolution: Record<string, unknown> | null;
  createdAt: string;
}

export async function submit(
  t: TestRuntime,
  capability: string,
  extra: Record<string, unknown> = {},
): Promise<ItemBody> {
  const res = await t.request<ItemBody>('POST', '/v1/work-items', {
    body: { kind: 'doc', capability, ...extra },
  });
  if (res.status !== 201) throw new Error(`submit failed: ${res.status} ${res.text}`);
  return res.body;
}

export async function item(t: TestRuntime, id: string): Promise<ItemBody> {
  return (await t.request<ItemBody>('GET', `/v1/work-items/${id}`)).body;
}

export interface Claimed {
  workItem: { id: string };
  step: { id: string; capability: string };
  lease: { token: string };
}

export async function claim(t: TestRuntime, nodeId: string): Promise<Claimed | undefined> {
  const res = await t.request<Claimed>('POST', `/v1/nodes/${nodeId}/claims`);
  if (res.status === 204) return undefined;
  if (res.status !== 200) throw new Error(`claim failed: ${res.status} ${res.text}`);
  return res.body;
}

export async function fail(t: TestRuntime, c: Claimed, retryable = true) {
  return t.request('POST', `/v1/work-items/${c.workItem.id}/fail`, {
    body: { stepId: c.step.id, leaseToken: c.lease.token, reason: 'upstream timed out', retryable },
  });
}

export async function escalationsOf(
  t: TestRuntime,
  workItemId: string,
  state = 'open,acknowledged,resolved',
) {
  const res = await t.request<{ escalations: EscalationBody[] }>(
    'GET',
    `/v1/escalations?workItemId=${workItemId}&state=${state}`,
  );
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${res.text}`);
  return res.body.escalations;
}

export async function eventTypes(t: TestRuntime, id: string): Promise<string[]> {
  const res = await t.request<{ events: { type: string }[] }>('GET', `/v1/work-items/${id}/events`);
  return res.body.events.map((e) => e.type);
}

export function resolve(t: TestRuntime, id: string, body: Record<string, unknown>) {
  return t.request<EscalationBody & { detail?: string; code?: string }>(
    'POST',
    `/v1/escalations/${id}/resolve`,
    { body },
  );
}
