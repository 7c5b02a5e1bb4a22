import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { main } from '../../bin/cli.js';
import { loadNetworkFile } from '../../capabilities/network-file.js';
import { runPolicyCommand } from '../../policies/cli.js';
import { findPolicyTestFiles, loadPolicySet } from '../../policies/load.js';
import { formatCaseFailure, runPolicyTests } from '../../policies/policy-tests.js';

/** A folder for one test's rule files, removed when the test ends. */
async function ruleDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowmesh-policy-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function exampleSet() {
  const network = await loadNetworkFile('examples/network.yaml');
  const set = await loadPolicySet('examples/policies', {
    capabilities: new Set(network.capabilities.map((c) => c.id)),
  });
  return { network, set };
}

describe('policy tests', () => {
  it("pass for every case of the example network's guardrails", async () => {
    const { network, set } = await exampleSet();
    const files = await findPolicyTestFiles('examples/policies');
    expect(files).toEqual(['examples/policies/guardrails.test.yaml']);
    const report = await runPolicyTests(set, files, network.nodes);
    const failures = report.results.filter((r) => !r.passed).map(formatCaseFailure);
    expect(failures).toEqual([]);
    expect(report.passed).toBeGreaterThanOrEqual(15);
  });

  it('print the rule, the inputs and the values that decided when a case fails', async () => {
    const dir = await ruleDir();
    await writeFile(
      join(dir, 'rules.yaml'),
      '- id: big-refund\n  on: complete\n  when: item.attributes.amount > 500\n  require: refund.approve\n',
    );
    await writeFile(
      join(dir, 'rules.test.yaml'),
      [
        '- name: small refunds pass',
        '  on: complete',
        '  item: { kind: refund, attributes: { amount: 700 } }',
        '  step: { capability: refund.assess }',
        '  node: billing-team',
        '  expect: { require: [] }',
      ].join('\n'),
    );
    const lines: string[] = [];
    const code = await runPolicyCommand(['test', dir], {}, (l) => lines.push(l));
    const out = lines.join('\n');
    expect(code).toBe(1);
    expect(out).toContain('small refunds pass');
    expect(out).toContain('require: expected [], got [refund.approve]');
    expect(out).toContain('item = {"kind":"refund","attributes":{"amount":700}');
    expect(out).toContain('big-refund');
    expect(out).toContain('item.attributes.amount = 700');
    expect(out).toContain('0 passed, 1 failed');
  });

  it('exit non-zero with the problems when the rules do not load', async () => {
    const dir = await ruleDir();
    await writeFile(
      join(dir, 'rules.yaml'),
      '- id: bad\n  on: admit\n  when: itm.kind == "x"\n  deny: true\n',
    );
    await writeFile(join(dir, 'rules.test.yaml'), '[]\n');
    const lines: string[] = [];
    expect(await runPolicyCommand(['test', dir], {}, (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toContain('rules.yaml:3:9: rule bad (when): type error: Unknown variable: itm');
  });

  it('are reachable through the flowmesh command, which rejects unknown commands', async () => {
    expect(await main(['policy', 'test', 'examples/policies'])).toBe(0);
    expect(await main(['no-such-command'])).toBe(2);
  });
});
