import { describe, expect, it } from 'vitest';
import { agent, human, item, NOW, rules, selfService } from './helpers.js';

const step = { capability: 'refund.assess', attempt: 1 };

describe('admission', () => {
  it('denies with the rule message when deny holds', async () => {
    const set = await rules(`
- id: no-negative
  on: admit
  when: item.kind == "refund"
  deny: item.attributes.amount <= 0
  message: amount must be positive
`);
    const denied = set.admit({ item: item({ amount: -1 }), now: NOW });
    expect(denied.effects).toEqual([
      { type: 'deny', ruleId: 'no-negative', message: 'amount must be positive' },
    ]);
    expect(denied.ruleIds).toEqual(['no-negative']);
    expect(denied.version).toBe(set.version);
    expect(set.admit({ item: item({ amount: 3 }), now: NOW }).effects).toEqual([]);
    expect(set.admit({ item: item({ amount: -1 }, 'other'), now: NOW }).effects).toEqual([]);
  });

  it('escalates on admission', async () => {
    const set = await rules(`
- id: risky
  on: admit
  when: item.kind == "fraud.report" && item.priority > 90
  escalate: { severity: high, reason: fraud }
`);
    const d = set.admit({ item: { kind: 'fraud.report', attributes: {}, priority: 95 }, now: NOW });
    expect(d.effects).toEqual([{ type: 'escalate', ruleId: 'risky', severity: 'high', reason: 'fraud' }]);
    expect(
      set.admit({ item: { kind: 'fraud.report', attributes: {}, priority: 5 }, now: NOW }).effects,
    ).toEqual([]);
  });

  it('can read the time of the decision', async () => {
    const set = await rules(`
- id: weekend
  on: admit
  when: now.getDayOfWeek() == 0
  deny: true
`);
    expect(set.admit({ item: item(), now: new Date('2026-01-04T10:00:00Z') }).effects).toHaveLength(1);
    expect(set.admit({ item: item(), now: NOW }).effects).toHaveLength(0);
  });
});

describe('routing', () => {
  const piiRules = `
- id: pii-humans
  on: route
  when: has(item.attributes.pii) && item.attributes.pii == true
  deny: node.kind != "human_team"
  message: personal data stays with people
- id: no-self-service
  on: route
  when: true
  deny: node.kind == "self_service"
`;

  it('removes denied nodes and names the rules for each exclusion', async () => {
    const set = await rules(piiRules);
    const d = set.route({ item: item({ pii: true }), step, now: NOW, nodes: [human, agent, selfService] });
    expect(d.eligible).toEqual(['billing-team']);
    expect(d.excluded).toEqual([
      {
        nodeId: 'refund-agent',
        ruleIds: ['pii-humans'],
        reasons: ['personal data stays with people'],
        failures: [],
      },
      {
        nodeId: 'help-centre',
        ruleIds: ['pii-humans', 'no-self-service'],
        reasons: ['personal data stays with people', 'denied by policy no-self-service'],
        failures: [],
      },
    ]);
    expect(d.ruleIds.sort()).toEqual(['no-self-service', 'pii-humans']);
  });

  it('leaves every node when no rule applies', async () => {
    const set = await rules(piiRules);
    const d = set.route({ item: item({}), step, now: NOW, nodes: [human, agent] });
    expect(d.eligible).toEqual(['billing-team', 'refund-agent']);
    expect(d.excluded).toEqual([]);
  });

  it('evaluates when once per step: a failing when is reported once and excludes every node', async () => {
    const set = await rules(`
- id: needs-tier
  on: route
  when: item.attributes.tier == "gold"
  deny: node.kind == "ai_agent"
`);
    const guard = set.routeGuard({ item: item({}), step, now: NOW });
    expect(guard.failures).toEqual([{ ruleId: 'needs-tier', field: 'when', error: 'No such key: tier' }]);
    expect(guard.check(human)?.ruleIds).toEqual(['needs-tier']);
    expect(guard.check(agent)?.reasons[0]).toContain('failed to evaluate (fail closed)');
    expect(guard.failures).toHaveLength(1);
  });

  it('fails closed per node when deny fails for that node only', async () => {
    const set = await rules(`
- id: trust
  on: route
  deny: node.attributes.trust != "high"
`);
    const trusted = { ...human, attributes: { trust: 'high' } };
    const d = set.route({ item: item(), step, now: NOW, nodes: [trusted, agent] });
    expect(d.eligible).toEqual(['billing-team']);
    expect(d.excluded[0]?.nodeId).toBe('refund-agent');
    expect(d.failures).toEqual([
      { ruleId: 'trust', field: 'deny', nodeId: 'refund-agent', error: 'No such key: trust' },
    ]);
  });

  it('raises escalations of route rules once for the step', async () => {
    const set = await rules(`
- id: old-step
  on: route
  when: step.attempt >= 3
  escalate: { severity: medium, reason: third attempt }
`);
    const d = set.route({ item: item(), step: { ...step, attempt: 3 }, now: NOW, nodes: [human, agent] });
    expect(d.effects).toEqual([
      { type: 'escalate', ruleId: 'old-step', severity: 'medium', reason: 'third attempt' },
    ]);
    expect(d.eligible).toHaveLength(2);
  });
});

describe('completion', () => {
  const completionRules = `
- id: big-refund
  on: complete
  when: step.capability == "refund.assess" && item.attributes.amount > 500
  require: refund.approve
- id: unsure-agent
  on: complete
  when: node.kind == "ai_agent" && confidence < 0.8
  require: quality.review
- id: rejected-result
  on: complete
  when: has(result.flag) && result.flag == "fraud"
  escalate: { severity: critical, reason: the node flagged fraud }
`;

  it('requires an approval step and a review step', async () => {
    const set = await rules(completionRules);
    const d = set.complete({
      item: item({ amount: 900 }),
      step,
      node: agent,
      result: {},
      confidence: 0.5,
      now: NOW,
    });
    expect(d.effects).toEqual([
      { type: 'require', ruleId: 'big-refund', capability: 'refund.approve' },
      { type: 'require', ruleId: 'unsure-agent', capability: 'quality.review' },
    ]);
  });

  it('lets a confident result through and escalates on the result', async () => {
    const set = await rules(completionRules);
    const d = set.complete({
      item: item({ amount: 100 }),
      step,
      node: agent,
      result: { flag: 'fraud' },
      confidence: 0.9,
      now: NOW,
    });
    expect(d.effects).toEqual([
      { type: 'escalate', ruleId: 'rejected-result', severity: 'critical', reason: 'the node flagged fraud' },
    ]);
  });

  it('fails closed when a rule cannot be evaluated, and records why', async () => {
    const set = await rules(completionRules);
    const d = set.complete({ item: item({ amount: 100 }), step, node: agent, result: null, now: NOW });
    expect(d.ruleIds).toContain('unsure-agent');
    expect(d.failures.map((f) => f.ruleId)).toEqual(['unsure-agent']);
    expect(d.failures[0]?.error).toContain('confidence');
  });

  it('explains each rule with the values it read', async () => {
    const set = await rules(completionRules);
    const [big, unsure] = set.explain({
      on: 'complete',
      item: item({ amount: 900 }),
      step,
      node: human,
      result: {},
      confidence: 0.5,
      now: NOW,
    });
    expect(big).toMatchObject({
      ruleId: 'big-refund',
      applied: true,
      when: { value: true, values: { 'step.capability': 'refund.assess', 'item.attributes.amount': 900 } },
    });
    expect(unsure).toMatchObject({
      applied: false,
      when: { value: false, values: { 'node.kind': 'human_team', confidence: 0.5 } },
    });
  });
});
