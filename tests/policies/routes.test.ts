import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

const guardrails = async () => [
  { file: 'guardrails.yaml', text: await readFile('examples/policies/guardrails.yaml', 'utf8') },
];

describe('/v1/policies', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await createTestRuntime({ policies: await guardrails() });
  });
  afterAll(() => t.close());

  it('shows the running set, its version and each rule', async () => {
    const res = await t.request<{ version: string; rules: Array<{ id: string; on: string; line: number }> }>(
      'GET',
      '/v1/policies',
    );
    expect(res.status).toBe(200);
    expect(res.body.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(res.body.version).toBe(t.runtime.policies.current().version);
    expect(res.body.rules.map((r) => r.id)).toContain('pii-stays-with-humans');
    expect(res.body.rules.find((r) => r.id === 'pii-stays-with-humans')).toMatchObject({
      on: 'route',
      line: 6,
    });
  });

  it('dry-runs a route decision over every node with the capability', async () => {
    const res = await t.request<Record<string, unknown>>('POST', '/v1/policies/evaluate', {
      body: {
        on: 'route',
        item: { kind: 'refund', attributes: { pii: true } },
        step: { capability: 'refund.assess' },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      on: 'route',
      denied: false,
      eligible: ['billing-team'],
      excluded: [{ nodeId: 'refund-agent', ruleIds: ['pii-stays-with-humans'] }],
      ruleIds: ['pii-stays-with-humans'],
    });
    expect((res.body.rules as Array<{ ruleId: string }>)[0]).toMatchObject({
      ruleId: 'pii-stays-with-humans',
      nodeId: 'refund-agent',
      applied: true,
      when: { value: true, values: { 'item.attributes.pii': true } },
      deny: { value: true, values: { 'node.kind': 'ai_agent' } },
    });
  });

  it('dry-runs completion and admission', async () => {
    const complete = await t.request<Record<string, unknown>>('POST', '/v1/policies/evaluate', {
      body: {
        on: 'complete',
        item: { kind: 'refund', attributes: { amount: 800 } },
        step: { capability: 'refund.assess' },
        node: 'refund-agent',
        result: { decision: 'refund' },
        confidence: 0.95,
      },
    });
    expect(complete.body).toMatchObject({
      effects: [{ type: 'require', ruleId: 'large-refunds-need-approval', capability: 'refund.approve' }],
    });
    const admit = await t.request<Record<string, unknown>>('POST', '/v1/policies/evaluate', {
      body: { on: 'admit', item: { kind: 'refund', attributes: { amount: -3 } } },
    });
    expect(admit.body).toMatchObject({ denied: true, ruleIds: ['refund-amount-positive'] });
  });

  it('answers a bad dry run with the field and the reason', async () => {
    const noStep = await t.request('POST', '/v1/policies/evaluate', {
      body: { on: 'route', item: { kind: 'refund' } },
    });
    expect(noStep.status).toBe(422);
    expect(noStep.body).toMatchObject({
      errors: [{ path: 'step', message: expect.stringContaining('needs the step') }],
    });
    const unknownNode = await t.request('POST', '/v1/policies/evaluate', {
      body: {
        on: 'complete',
        item: { kind: 'refund' },
        step: { capability: 'refund.assess' },
        node: 'nobody',
      },
    });
    expect(unknownNode.status).toBe(422);
    expect(unknownNode.body).toMatchObject({ errors: [{ path: 'node', message: 'unknown node nobody' }] });
  });

  it('lets only admins replace the set', async () => {
    const operator = await t.createKey('operator');
    const res = await t.request('PUT', '/v1/policies', {
      key: operator.key,
      body: { files: [{ name: 'x.yaml', text: '[]' }] },
    });
    expect(res.status).toBe(403);
  });

  it('refuses a bad set with every problem and keeps the running one', async () => {
    const before = t.runtime.policies.current().version;
    const res = await t.request<{ detail: string; problems: unknown[] }>('PUT', '/v1/policies', {
      body: {
        files: [
          {
            name: 'bad.yaml',
            text: '- id: a\n  on: route\n  deny: node.kindd == "x"\n- id: a\n  on: admit\n  deny: true\n',
          },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toContain(`the running set ${before} stays`);
    expect(res.body.problems).toEqual([
      expect.objectContaining({ file: 'bad.yaml', ruleId: 'a', field: 'deny', line: 3, column: 14 }),
      expect.objectContaining({ file: 'bad.yaml', ruleId: 'a', field: 'id', line: 4 }),
    ]);
    const after = await t.request<{ version: string; lastReload: { ok: boolean } }>('GET', '/v1/policies');
    expect(after.body.version).toBe(before);
    expect(after.body.lastReload).toMatchObject({ ok: false });
  });

  it('replaces the set with a valid one; the next decision uses it', async () => {
    const res = await t.request<{ version: string; changed: boolean }>('PUT', '/v1/policies', {
      body: {
        files: [
          {
            name: 'strict.yaml',
            text: '- id: no-refunds\n  on: admit\n  when: item.kind == "refund"\n  deny: true\n',
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(true);
    const dry = await t.request<Record<string, unknown>>('POST', '/v1/policies/evaluate', {
      body: { on: 'admit', item: { kind: 'refund', attributes: { amount: 5 } } },
    });
    expect(dry.body).toMatchObject({ version: res.body.version, denied: true, ruleIds: ['no-refunds'] });
    // Put the example back for the other tests of this file.
    await t.runtime.policies.replace(await guardrails(), 'api');
  });
});
