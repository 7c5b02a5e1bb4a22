// Helpers of the value-stream suites that drive a runtime through its HTTP API, as the admin (admins
// may act for any node): claim, complete, read items, submit refunds of the example network.
import { expect } from 'vitest';
import type { Runtime } from '../../server/runtime.js';
import { TEST_ADMIN_KEY } from '../support/runtime.js';

export interface ClaimBody {
  workItem: { id: string };
  step: { id: string; capability: string };
  lease: { token: string };
}

export interface ItemBody {
  id: string;
  state: string;
  attributes: Record<string, unknown>;
  result: { outcome?: string; rejected?: boolean; ruleId?: string } | null;
  steps: { id: string; capability: string; state: string }[];
}

/** Calls an app in-process as the admin. */
export async function call<T>(app: Runtime['app'], method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Claims the next step at `nodeId`; fails the test when there is none. */
export async function claim(app: Runtime['app'], nodeId: string): Promise<ClaimBody> {
  const claimed = await call<ClaimBody>(app, 'POST', `/v1/nodes/${nodeId}/claims`, {});
  expect(claimed.status, `a claim at ${nodeId}`).toBe(200);
  return claimed.body;
}

/** Completes a claimed step; returns the response (status and body). */
export function complete(app: Runtime['app'], c: ClaimBody, result: unknown, confidence = 0.95) {
  return call<Record<string, unknown>>(app, 'POST', `/v1/work-items/${c.workItem.id}/complete`, {
    stepId: c.step.id,
    leaseToken: c.lease.token,
    result,
    confidence,
  });
}

/** Claims the next step at `nodeId` and completes it with `result`; returns what was claimed. */
export async function work(app: Runtime['app'], nodeId: string, result: unknown, confidence = 0.95) {
  const c = await claim(app, nodeId);
  const done = await complete(app, c, result, confidence);
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  return c;
}

export const getItem = async (app: Runtime['app'], id: string) =>
  (await call<ItemBody>(app, 'GET', `/v1/work-items/${id}`)).body;

/** The capability and state of each of the item's steps, in order. */
export const stepsOf = async (app: Runtime['app'], id: string) =>
  (await getItem(app, id)).steps.map((s) => [s.capability, s.state]);

/** Submits a refund that follows the refund stream (no capability named). */
export async function submitRefund(
  app: Runtime['app'],
  attributes: Record<string, unknown>,
  text = 'Please refund my order 1042.',
) {
  const res = await call<ItemBody>(app, 'POST', '/v1/work-items', {
    kind: 'refund',
    title: 'Refund for order 1042',
    attributes,
    payload: { text },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
