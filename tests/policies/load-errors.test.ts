import { describe, expect, it } from 'vitest';
import { compilePolicySet, formatProblem } from '../../policies/compile.js';
import { CAPABILITIES, problemsOf } from './helpers.js';

describe('a bad policy file', () => {
  it('names file, rule, line, column and reason for a syntax error', async () => {
    const [p] = await problemsOf('- id: broken\n  on: admit\n  when: item.kind ==\n  deny: true\n');
    expect(p).toMatchObject({ file: 'rules.yaml', ruleId: 'broken', field: 'when', line: 3 });
    expect(p?.reason).toMatch(/^syntax error: Unexpected token/);
    expect(p?.column).toBe(21);
  });

  it('reports an unknown variable with the variables the hook allows', async () => {
    const [p] = await problemsOf('- id: typo\n  on: route\n  when: true\n  deny: nod.kind == "ai_agent"\n');
    expect(p).toMatchObject({ ruleId: 'typo', field: 'deny', line: 4, column: 9 });
    expect(p?.reason).toContain('Unknown variable: nod');
    expect(p?.reason).toContain('item, step, node, now');
  });

  it('reports an unknown field of a declared variable', async () => {
    const [p] = await problemsOf('- id: field\n  on: admit\n  when: item.amount > 5\n  deny: true\n');
    expect(p).toMatchObject({ ruleId: 'field', field: 'when', line: 3, column: 14 });
    expect(p?.reason).toContain('No such key: amount');
  });

  it('reports a type error', async () => {
    const [p] = await problemsOf('- id: types\n  on: admit\n  when: item.priority == "high"\n  deny: true\n');
    expect(p?.reason).toMatch(/type error: no such overload: int == string/);
    expect(p).toMatchObject({ line: 3, column: 9 });
  });

  it('refuses an expression that is not a boolean', async () => {
    const [p] = await problemsOf('- id: str\n  on: admit\n  when: item.kind\n  deny: true\n');
    expect(p?.reason).toBe('type error: the expression must be a boolean, it is string');
  });

  it('refuses a variable that does not exist at the hook', async () => {
    const [p] = await problemsOf('- id: early\n  on: admit\n  when: result.ok == true\n  deny: true\n');
    expect(p?.reason).toContain('Unknown variable: result');
    expect(p?.reason).toContain('on: admit rules may use item, now');
  });

  it('refuses a route rule whose when reads the node, and says where node conditions go', async () => {
    const [p] = await problemsOf(
      '- id: nodewhen\n  on: route\n  when: node.kind == "ai_agent"\n  deny: true\n',
    );
    expect(p?.reason).toContain('put node conditions in deny');
  });

  it('reports duplicate ids across files with where the first one is', async () => {
    const outcome = await compilePolicySet(
      [
        { file: 'a.yaml', text: '- id: same\n  on: admit\n  deny: false\n' },
        { file: 'b.yaml', text: '# second\n- id: same\n  on: admit\n  deny: false\n' },
      ],
      { capabilities: CAPABILITIES },
    );
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.problems).toEqual([
      {
        file: 'b.yaml',
        ruleId: 'same',
        field: 'id',
        line: 2,
        column: 7,
        reason: 'duplicate rule id (first defined in a.yaml:1)',
      },
    ]);
  });

  it('reports an unknown capability in require with the ones the network has', async () => {
    const [p] = await problemsOf('- id: req\n  on: complete\n  require: refund.aprove\n');
    expect(p).toMatchObject({ ruleId: 'req', field: 'require', line: 3, column: 12 });
    expect(p?.reason).toContain('unknown capability refund.aprove');
    expect(p?.reason).toContain('refund.approve');
  });

  it('refuses a rule with no effect, two effects, or an effect its hook does not have', async () => {
    const problems = await problemsOf(
      [
        '- id: none\n  on: admit\n  when: true',
        '- id: two\n  on: admit\n  deny: true\n  escalate: { severity: low, reason: x }',
        '- id: wrong\n  on: route\n  require: refund.approve',
        '- id: early\n  on: admit\n  require: refund.approve',
      ].join('\n'),
    );
    expect(problems.map((p) => [p.ruleId, p.reason])).toEqual([
      ['none', 'a rule needs exactly one effect: deny, require or escalate'],
      ['two', 'a rule has exactly one effect, this one has deny and escalate'],
      ['wrong', 'require is not an effect of "on: route" (it allows deny, escalate)'],
      ['early', 'require is not an effect of "on: admit" (it allows deny, escalate)'],
    ]);
  });

  it('names unknown fields and bad values', async () => {
    const problems = await problemsOf(
      '- id: x\n  on: admit\n  deny: true\n  denny: true\n- id: y\n  on: sometimes\n  deny: true\n',
    );
    expect(problems.map(formatProblem)).toEqual([
      'rules.yaml:1:3: rule x: unknown field denny',
      'rules.yaml:6:7: rule y (on): Invalid option: expected one of "admit"|"route"|"complete"',
    ]);
  });

  it('reports YAML that does not parse with its position', async () => {
    const [p] = await problemsOf('- id: a\n  on: [admit\n');
    expect(p?.reason).toMatch(/^not valid YAML/);
    expect(p?.line).toBeGreaterThanOrEqual(2);
  });

  it('refuses a file that is not a list of rules', async () => {
    const [p] = await problemsOf('id: a\non: admit\n');
    expect(p?.reason).toBe('a policy file is a YAML list of rules');
  });

  it('bounds cost: refuses nested comprehensions and backtracking patterns', async () => {
    const problems = await problemsOf(
      [
        '- id: loops\n  on: admit\n  when: item.attributes.a.all(x, item.attributes.a.exists(y, x != y))\n  deny: true',
        '- id: regex\n  on: admit\n  when: item.title.matches("(a+)+$")\n  deny: true',
        '- id: dynregex\n  on: admit\n  when: item.title.matches(item.kind)\n  deny: true',
      ].join('\n'),
    );
    expect(problems.map((p) => p.ruleId)).toEqual(['loops', 'regex', 'dynregex']);
    expect(problems[0]?.reason).toContain('may not nest');
    expect(problems[0]?.column).toBe(34);
    expect(problems[1]?.reason).toContain('exponential time');
    expect(problems[2]?.reason).toContain('string literal pattern');
  });

  it('points into a folded block expression at the right line', async () => {
    const [p] = await problemsOf(
      '- id: folded\n  on: complete\n  when: >-\n    item.kind == "refund"\n    && confidnce < 0.8\n  require: quality.review\n',
    );
    expect(p).toMatchObject({ line: 5, column: 8 });
    expect(p?.reason).toContain('Unknown variable: confidnce');
  });
});
