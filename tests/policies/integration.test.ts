// Policies inside the router: admission, routing and completion through the HTTP API of a test runtime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.js';
import { createRuntime } from '../../server/runtime.js';
import { act, claim, escalations, item } from '../capabilities/helpers.js';
import { onPostgres } from '../support/database.js';
import {
  createTestRuntime,
  loadExampleNetwork,
  TEST_ADMIN_KEY,
  type TestRuntime,
} from '../support/runtime.js';

const RULES = `
- id: pii-humans
  on: route
  when: has(item.attributes.pii) && item.attributes.pii == true
  deny: node.kind != "human_team"
  message: personal data stays with people
- id: tier-check
  on: route
  when: has(item.attributes.tier) && item.attributes.tier.startsWith("gold")
  deny: node.kind == "self_service"
- id: flagged-routing
  on: route
  when: has(item.attributes.flagged) && item.attributes.flagged == true
  escalate: { severity: medium, reason: a flagged item was routed }
- id: big-payout-approval
  on: complete
  when: step.capability == "refund.assess" && has(item.attributes.amount) && item.attributes.amount > 500
  require: refund.approve
- id: unsure-ai-review
  on: complete
  when: node.kind == "ai_agent" && confidence < 0.8
  require: quality.review
- id: flagged-result
  on: complete
  when: has(result.flag)
  escalate: { severity: low, reason: the node flagged its result }
- id: fraud-escalates
  on: admit
  when: item.kind == "fraud.report"
  escalate: { severity: high, reason: a fraud report arrived }
- id: no-negative
  on: admit
  when: has(item.attributes.amount)
  deny: item.attributes.amount < 0
  message: amount must not be negative
`;

interface Decision {
  hook: string;
  outcome: string;
  policyVersion: string;
  ruleIds: string[];
  stepId: string | null;
  details: Record<string, unknown>;
}

async function decisions(t: TestRuntime, id: string): Promise<Decision[]> {
  const res = await t.request<{ decisions: Decision[] }>('GET', `/v1/work-items/${id}/decisions`);
  expect(res.status).toBe(200);
  return res.body.decisions;
}

async function submit(t: TestRuntime, body: Record<string, unknown>) {
  return t.request<{ id: string; state: string; steps: Array<{ id: string; exclusions: unknown[] }> }>(
    'POST',
    '/v1/work-items',
    { body: { kind: 'payout', capability: 'refund.assess', ...body } },
  );
}

// Completion tests submit at priority 100 so their nodes claim them before the routing tests' leftovers.
describe('policies in the router', () => {
  let t: TestRuntime;
  let version: string;
  beforeAll(async () => {
    t = await createTestRuntime({ policies: [{ file: 'rules.yaml', text: RULES }] });
    version = t.runtime.policies.current().version;
  });
  afterAll(() => t.close());

  it('refuses a submission an admission rule denies, with the rule message, and stores the refusal', async () => {
    const res = await submit(t, { attributes: { amount: -4 } });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'policy_denied',
      detail: 'the work item is not admitted: amount must not be negative',
      ruleIds: ['no-negative'],
      policyVersion: version,
    });
    const { decisionId } = res.body as unknown as { decisionId: string };
    const rows = await t.runtime.store.rows<{ outcome: string; rule_ids: unknown }>(
      (await import('drizzle-orm'))
        .sql`select outcome, rule_ids from decisions where id = ${decisionId}::uuid`,
    );
    expect(rows[0]?.outcome).toBe('denied');
  });

  it('escalates on admission and still admits the item', async () => {
    const res = await submit(t, { kind: 'fraud.report', capability: 'intake.triage' });
    expect(res.status).toBe(201);
    const open = await escalations(t, res.body.id);
    expect(open).toEqual([
      expect.objectContaining({
        kind: 'policy',
        severity: 'high',
        stepId: null,
        reason: expect.stringContaining('fraud-escalates'),
      }),
    ]);
    const [admit] = await decisions(t, res.body.id);
    expect(admit).toMatchObject({
      hook: 'admit',
      outcome: 'admitted',
      policyVersion: version,
      ruleIds: ['fraud-escalates'],
    });
  });

  it('excludes nodes a route rule denies; exclusions carry rule ids on the step and in the decisions', async () => {
    const res = await submit(t, { kind: 'support', capability: 'kb.answer', attributes: { pii: true } });
    expect(res.status).toBe(201);
    const [step] = (await item(t, res.body.id)).steps;
    expect(step?.eligibleNodes).toEqual(['support-team']);
    expect(step?.exclusions).toEqual(
      expect.arrayContaining([
        {
          nodeId: 'help-centre',
          reason: 'policy',
          detail: 'personal data stays with people',
          ruleIds: ['pii-humans'],
        },
        {
          nodeId: 'refund-agent',
          reason: 'policy',
          detail: 'personal data stays with people',
          ruleIds: ['pii-humans'],
        },
        {
          nodeId: 'kb-agent',
          reason: 'policy',
          detail: 'personal data stays with people',
          ruleIds: ['pii-humans'],
        },
      ]),
    );
    const route = (await decisions(t, res.body.id)).find((d) => d.hook === 'route');
    expect(route).toMatchObject({
      outcome: 'routed',
      policyVersion: version,
      ruleIds: ['pii-humans'],
      stepId: step?.id,
      details: { eligible: ['support-team'], capability: 'kb.answer' },
    });
    expect(route?.details.exclusions).toHaveLength(3);
  });

  it('keeps the router’s own exclusions beside the policy ones in the decision', async () => {
    const res = await submit(t, { attributes: { pii: true, amount: 20 } });
    const route = (await decisions(t, res.body.id)).find((d) => d.hook === 'route');
    // refund-agent is denied by policy; billing-team is a fallback tier, opened because nobody else may.
    expect(route?.details).toMatchObject({ eligible: ['billing-team'], tier: 1 });
    expect(route?.details.exclusions).toEqual([
      {
        nodeId: 'refund-agent',
        reason: 'policy',
        detail: 'personal data stays with people',
        ruleIds: ['pii-humans'],
      },
    ]);
  });

  it('fails closed when a route rule cannot be evaluated, and records the failure', async () => {
    const res = await submit(t, { kind: 'support', capability: 'kb.answer', attributes: { tier: 42 } });
    expect(res.status).toBe(201);
    const [step] = (await item(t, res.body.id)).steps;
    expect(step?.routing).toBe('unroutable');
    expect(step?.eligibleNodes).toEqual([]);
    const route = (await decisions(t, res.body.id)).find((d) => d.hook === 'route');
    expect(route).toMatchObject({ outcome: 'unroutable', ruleIds: ['tier-check'] });
    expect(route?.details.failures).toEqual([
      expect.objectContaining({ ruleId: 'tier-check', field: 'when' }),
    ]);
    expect((await escalations(t, res.body.id)).map((x) => x.kind)).toContain('no_capable_node');
  });

  it('writes an escalation record when a route rule escalates', async () => {
    const res = await submit(t, { kind: 'support', capability: 'kb.answer', attributes: { flagged: true } });
    const open = await escalations(t, res.body.id);
    expect(open).toEqual([
      expect.objectContaining({ kind: 'policy', severity: 'medium', stepId: res.body.steps[0]?.id }),
    ]);
  });

  it('inserts an approval step after a large payout is assessed; approval finishes the item with the assessment', async () => {
    const res = await submit(t, { attributes: { amount: 900 }, priority: 100 });
    const assess = await claim(t, 'refund-agent');
    expect(assess?.workItem.id).toBe(res.body.id);
    const done = await act(t, 'complete', assess!, { result: { decision: 'pay' }, confidence: 0.95 });
    expect(done.status).toBe(200);
    let view = await item(t, res.body.id);
    expect(view.state).toBe('open');
    expect(view.steps.map((s) => [s.capability, s.state])).toEqual([
      ['refund.assess', 'completed'],
      ['refund.approve', 'queued'],
    ]);
    const approve = await claim(t, 'billing-team');
    expect(approve?.step.capability).toBe('refund.approve');
    const approved = await act(t, 'complete', approve!, { result: { approved: true, note: 'fine' } });
    expect(approved.status).toBe(200);
    view = await item(t, res.body.id);
    expect(view.state).toBe('done');
    const full = await t.request<{ result: unknown }>('GET', `/v1/work-items/${res.body.id}`);
    expect(full.body.result).toEqual({ decision: 'pay' });
    const list = await decisions(t, res.body.id);
    expect(list.map((d) => [d.hook, d.outcome])).toEqual([
      ['admit', 'admitted'],
      ['route', 'routed'],
      ['complete', 'required'],
      ['route', 'routed'],
      ['complete', 'approved'],
    ]);
    expect(list[2]).toMatchObject({ ruleIds: ['big-payout-approval'], policyVersion: version });
    expect(list[4]).toMatchObject({ ruleIds: ['big-payout-approval'] });
  });

  it('rejects the item when a required step answers approved: false, cancelling the other required step', async () => {
    const res = await submit(t, { attributes: { amount: 900 }, priority: 100 });
    const assess = await claim(t, 'refund-agent');
    await act(t, 'complete', assess!, { result: { decision: 'pay' }, confidence: 0.5 });
    let view = await item(t, res.body.id);
    expect(view.steps.map((s) => s.capability).sort()).toEqual([
      'quality.review',
      'refund.approve',
      'refund.assess',
    ]);
    const approve = await claim(t, 'billing-team');
    const bad = await act(t, 'complete', approve!, { result: { ok: true } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({
      errors: [{ path: 'result', message: 'must be {approved: boolean, note?: string}' }],
    });
    const rejected = await act(t, 'complete', approve!, {
      result: { approved: false, note: 'not eligible' },
    });
    expect(rejected.status).toBe(200);
    view = await item(t, res.body.id);
    expect(view.state).toBe('rejected');
    expect(view.steps.find((s) => s.capability === 'quality.review')?.state).toBe('cancelled');
    const last = (await decisions(t, res.body.id)).at(-1);
    expect(last).toMatchObject({ hook: 'complete', outcome: 'rejected', ruleIds: ['big-payout-approval'] });
  });

  it('gives an AI result without a confidence a review (fail closed) and records why', async () => {
    const res = await submit(t, { attributes: { amount: 10 }, priority: 100 });
    const assess = await claim(t, 'refund-agent');
    await act(t, 'complete', assess!, { result: { decision: 'pay' } });
    const view = await item(t, res.body.id);
    expect(view.steps.map((s) => s.capability)).toEqual(['refund.assess', 'quality.review']);
    const complete = (await decisions(t, res.body.id)).find((d) => d.hook === 'complete');
    expect(complete?.details.failures).toEqual([expect.objectContaining({ ruleId: 'unsure-ai-review' })]);
    const review = await claim(t, 'quality-team');
    await act(t, 'complete', review!, { result: { approved: true } });
    expect((await item(t, res.body.id)).state).toBe('done');
  });

  it('escalates on completion when a completion rule says so', async () => {
    const res = await submit(t, { attributes: { amount: 10 }, priority: 100 });
    const assess = await claim(t, 'refund-agent');
    await act(t, 'complete', assess!, { result: { flag: 'odd' }, confidence: 0.99 });
    expect((await escalations(t, res.body.id)).map((x) => [x.kind, x.severity])).toEqual([['policy', 'low']]);
  });

  it('stores the decision of a completion no rule stopped, with its version, and finishes the item', async () => {
    const res = await submit(t, { attributes: { amount: 10 }, priority: 100 });
    const assess = await claim(t, 'refund-agent');
    const done = await act(t, 'complete', assess!, { result: { decision: 'pay' }, confidence: 0.99 });
    expect(done.body).toMatchObject({ workItem: { state: 'done', result: { decision: 'pay' } } });
    const complete = (await decisions(t, res.body.id)).filter((d) => d.hook === 'complete');
    expect(complete).toEqual([
      expect.objectContaining({
        outcome: 'continued',
        policyVersion: version,
        stepId: assess!.step.id,
        details: {
          capability: 'refund.assess',
          confidence: 0.99,
          required: [],
          escalations: [],
          failures: [],
        },
      }),
    ]);
  });

  it('stores a new route decision when a network change re-routes a step', async () => {
    const res = await submit(t, { kind: 'support', capability: 'kb.answer', attributes: { pii: true } });
    const away = await t.request('POST', '/v1/nodes/support-team/availability', {
      body: { availability: 'away' },
    });
    expect(away.status).toBe(200);
    try {
      const routes = (await decisions(t, res.body.id)).filter((d) => d.hook === 'route');
      expect(routes.map((d) => d.outcome)).toEqual(['routed', 'unroutable']);
      expect(routes[1]?.details.exclusions).toEqual(
        expect.arrayContaining([
          { nodeId: 'support-team', reason: 'away' },
          expect.objectContaining({ nodeId: 'refund-agent', reason: 'policy', ruleIds: ['pii-humans'] }),
        ]),
      );
    } finally {
      await t.request('POST', '/v1/nodes/support-team/availability', { body: { availability: 'available' } });
    }
  });

  it('uses a reloaded policy set at the next decision and stores its version', async () => {
    const outcome = await t.runtime.policies.replace(
      [{ file: 'strict.yaml', text: '- id: humans-only\n  on: route\n  deny: node.kind != "human_team"\n' }],
      'api',
    );
    expect(outcome.ok).toBe(true);
    const res = await submit(t, { kind: 'support', capability: 'kb.answer' });
    const [route] = (await decisions(t, res.body.id)).filter((d) => d.hook === 'route');
    expect(route).toMatchObject({
      policyVersion: t.runtime.policies.current().version,
      ruleIds: ['humans-only'],
    });
    expect(route?.policyVersion).not.toBe(version);
    await t.runtime.policies.replace([{ file: 'rules.yaml', text: RULES }], 'api');
  });

  it.skipIf(!onPostgres)(
    'keeps decisions across a restart: a second runtime on the same database lists them',
    async () => {
      const res = await submit(t, { kind: 'support', capability: 'kb.answer', attributes: { pii: true } });
      const before = await decisions(t, res.body.id);
      const second = await createRuntime(
        parseConfig({ FLOWMESH_ADMIN_KEY: TEST_ADMIN_KEY, FLOWMESH_LOG_LEVEL: 'silent' }),
        {
          store: await t.database.openAnother(),
          clock: t.clock,
          network: await loadExampleNetwork(),
          policies: [],
        },
      );
      try {
        const r = await second.app.request(`/v1/work-items/${res.body.id}/decisions`, {
          headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
        });
        expect(r.status).toBe(200);
        const after = ((await r.json()) as { decisions: Decision[] }).decisions;
        expect(after).toEqual(before);
        expect(after.find((d) => d.hook === 'route')).toMatchObject({
          ruleIds: ['pii-humans'],
          policyVersion: version,
        });
      } finally {
        await second.close();
      }
    },
  );
});
