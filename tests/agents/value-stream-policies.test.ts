// Completion policies on a streamed item, through the HTTP API: a step a policy requires enters the
// item's thread as a gate before the stream's next step, unless that next step is of the required
// capability; not approved ends the item `rejected`; a waiting gate survives a restart.
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ValueStreamDriver } from '../../agents/value-stream-driver.js';
import type { PolicySource } from '../../policies/compile.js';
import { parseConfig } from '../../server/config.js';
import { createRuntime, type Runtime } from '../../server/runtime.js';
import { onPostgres } from '../support/database.js';
import {
  createTestRuntime,
  loadExampleNetwork,
  TEST_ADMIN_KEY,
  type TestRuntime,
} from '../support/runtime.js';
import { call, claim, complete, getItem, stepsOf, submitRefund, work } from './stream-support.js';

const guardrails = async (): Promise<PolicySource> => ({
  file: 'examples/policies/guardrails.yaml',
  text: await readFile('examples/policies/guardrails.yaml', 'utf8'),
});

// Stricter than the stream, which sends refunds of 500 or less straight to execute.
const approveOver100: PolicySource = {
  file: 'strict.yaml',
  text: `
- id: approve-over-100
  on: complete
  when: step.capability == "refund.assess" && has(item.attributes.amount) && item.attributes.amount > 100
  require: refund.approve
`,
};

interface Decision {
  hook: string;
  outcome: string;
  ruleIds: string[];
  stepId: string | null;
  details: { required?: { capability: string; ruleId: string; stepId: string | null }[] };
}
const decisions = async (app: Runtime['app'], id: string) =>
  (await call<{ decisions: Decision[] }>(app, 'GET', `/v1/work-items/${id}/decisions`)).body.decisions;

let t: TestRuntime | undefined;
const extra: Runtime[] = [];
afterEach(async () => {
  for (const r of extra.splice(0)) await r.telemetry?.shutdown?.();
  await t?.close();
  t = undefined;
});

describe('policy requirements of a streamed item', () => {
  it('leaves the approval of a refund over 500 to the stream’s own approve step: one approval', async () => {
    t = await createTestRuntime({ policies: [await guardrails()] });
    const { app } = t.runtime;
    const { id } = await submitRefund(app, { amount: 900, pii: false });
    await work(app, 'support-team', {});
    await work(app, 'refund-agent', { eligible: true });
    expect(await stepsOf(app, id)).toEqual([
      ['intake.triage', 'completed'],
      ['refund.assess', 'completed'],
      ['refund.approve', 'queued'],
    ]);
    const required = (await decisions(app, id)).find((d) => d.outcome === 'required');
    expect(required?.ruleIds).toEqual(['large-refunds-need-approval']);
    expect(required?.details.required).toEqual([
      expect.objectContaining({ capability: 'refund.approve', stepId: null }),
    ]);
    // The stream's approve step answers as the stream expects, not as a policy approval.
    await work(app, 'billing-team', { decision: 'approve' });
    await work(app, 'billing-team', { paid: true });
    const item = await getItem(app, id);
    expect(item.state).toBe('done');
    expect(item.steps.map((s) => s.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'refund.approve',
      'refund.execute',
    ]);
  });

  it('routes an approval the stream would skip before the next step, and pays once it is approved', async () => {
    t = await createTestRuntime({ policies: [approveOver100] });
    const { app } = t.runtime;
    const { id } = await submitRefund(app, { amount: 300 });
    await work(app, 'support-team', {});
    await work(app, 'refund-agent', { eligible: true });
    // At 300 the stream goes to execute, but not before the policy's approval.
    expect(await stepsOf(app, id)).toEqual([
      ['intake.triage', 'completed'],
      ['refund.assess', 'completed'],
      ['refund.approve', 'queued'],
    ]);
    const approval = await claim(app, 'billing-team');
    const wrong = await complete(app, approval, { decision: 'approve' });
    expect(wrong.status).toBe(422);
    expect((await complete(app, approval, { approved: true, note: 'fine' })).status).toBe(200);
    expect((await stepsOf(app, id)).at(-1)).toEqual(['refund.execute', 'queued']);
    await work(app, 'billing-team', { paid: true });
    const item = await getItem(app, id);
    expect(item.state).toBe('done');
    expect(item.result?.outcome).toBe('completed');
    // triage, assess (requires), the approval, execute.
    expect((await decisions(app, id)).filter((d) => d.hook === 'complete').map((d) => d.outcome)).toEqual([
      'continued',
      'required',
      'approved',
      'continued',
    ]);
  });

  it('ends the item rejected when the required approval is not given, and nothing is paid', async () => {
    t = await createTestRuntime({ policies: [approveOver100] });
    const { app } = t.runtime;
    const { id } = await submitRefund(app, { amount: 300 });
    await work(app, 'support-team', {});
    await work(app, 'refund-agent', { eligible: true });
    await work(app, 'billing-team', { approved: false, note: 'duplicate of 1041' });
    const item = await getItem(app, id);
    expect(item.state).toBe('rejected');
    expect(item.result).toMatchObject({ rejected: true, ruleId: 'approve-over-100' });
    expect(item.steps.map((s) => s.capability)).not.toContain('refund.execute');
    const driver = t.runtime.router.streams as ValueStreamDriver;
    expect(await driver.status({ id, kind: 'refund' })).toMatchObject({
      state: 'ended',
      outcome: 'rejected',
    });
  });

  it('gives an unsure agent’s assessment its review before the stream’s approval is routed', async () => {
    t = await createTestRuntime({ policies: [await guardrails()] });
    const { app } = t.runtime;
    const { id } = await submitRefund(app, { amount: 900, pii: false });
    await work(app, 'support-team', {});
    await work(app, 'refund-agent', { eligible: true }, 0.5);
    // The approval is met by the stream's next step; the review is not, so it comes first.
    expect(await stepsOf(app, id)).toEqual([
      ['intake.triage', 'completed'],
      ['refund.assess', 'completed'],
      ['quality.review', 'queued'],
    ]);
    await work(app, 'quality-team', { approved: true });
    expect((await stepsOf(app, id)).at(-1)).toEqual(['refund.approve', 'queued']);
    await work(app, 'billing-team', { decision: 'approve' });
    await work(app, 'billing-team', { paid: true });
    expect((await getItem(app, id)).state).toBe('done');
  });

  it('takes a waiting required step on after a restart, including an answer that committed just before', async () => {
    t = await createTestRuntime({ policies: [approveOver100] });
    const first = t.runtime;
    const { id } = await submitRefund(first.app, { amount: 300 });
    await work(first.app, 'support-team', {});
    await work(first.app, 'refund-agent', { eligible: true });
    // The process dies right after the approval commits, before the stream moves on.
    first.router.streams!.stepCompleted = async () => {
      throw new Error('process stopped');
    };
    await work(first.app, 'billing-team', { approved: true });
    expect((await stepsOf(first.app, id)).map(([c]) => c)).not.toContain('refund.execute');

    const store = onPostgres ? await t.database.openAnother() : t.database.store;
    const second = await createRuntime(
      parseConfig({ FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY, FLOWMESH_LOG_LEVEL: 'silent' }),
      { store, clock: t.clock, network: await loadExampleNetwork(), policies: [approveOver100] },
    );
    extra.push(second);
    expect((await stepsOf(second.app, id)).at(-1)).toEqual(['refund.execute', 'queued']);
    await work(second.app, 'billing-team', { paid: true });
    const item = await getItem(second.app, id);
    expect(item.state).toBe('done');
    expect(item.steps).toHaveLength(4);
  });
});
