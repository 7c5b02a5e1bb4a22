// Figures for policy evaluation. Prints one JSON line per figure.
//   route-decision: one routing decision (guard built once per step, then 100 candidate nodes) with
//   20 route rules, p50/p99 in µs (target p99 ≤ 1 ms); beside it the same rules with `when` folded
//   into `deny`, so every condition runs per node, to show what splitting when from deny saves.
//   throughput: end-to-end items/s with the example rules on vs no rules (see runThroughput below).
import { compilePolicySet } from '../policies/compile.js';
import { type PolicySet, policySet } from '../policies/policy-set.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const kinds = ['human_team', 'self_service', 'ai_agent'] as const;
const capabilities = new Set(['refund.assess', 'refund.approve', 'kb.answer']);

const nodes = Array.from({ length: 100 }, (_, i) => ({
  id: `node-${i}`,
  name: `Node ${i}`,
  kind: kinds[i % 3]!,
  capabilities: ['refund.assess', ...(i % 4 === 0 ? ['refund.approve'] : [])],
  attributes: { trust: i % 5 === 0 ? 'low' : 'high', region: i % 2 === 0 ? 'eu' : 'us', level: i % 10 },
}));

/** 20 route rules: node-independent `when`s (about half hold for the item) and per-node `deny`s. */
function routeRules(): Array<{ when: string; deny: string }> {
  const out: Array<{ when: string; deny: string }> = [];
  for (let i = 0; i < 20; i++) {
    const when = [
      'has(item.attributes.pii) && item.attributes.pii == true',
      'item.kind == "refund" && item.attributes.amount > 100',
      'item.priority > 90',
      'has(item.attributes.customerTier) && item.attributes.customerTier == "enterprise"',
      `item.attributes.amount > ${i * 100}`,
    ][i % 5]!;
    const deny = [
      'node.kind != "human_team"',
      'node.attributes.trust == "low"',
      `node.attributes.level < ${i % 10}`,
      'node.kind == "self_service" && node.attributes.region != item.attributes.region',
    ][i % 4]!;
    out.push({ when, deny });
  }
  return out;
}

async function build(rules: Array<{ when: string; deny: string }>, split: boolean): Promise<PolicySet> {
  const text = rules
    .map((r, i) =>
      split
        ? `- id: rule-${i}\n  on: route\n  when: '${r.when}'\n  deny: '${r.deny}'\n`
        : `- id: rule-${i}\n  on: route\n  deny: '(${r.when}) && (${r.deny})'\n`,
    )
    .join('');
  const outcome = await compilePolicySet([{ file: 'bench.yaml', text }], { capabilities });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
  return policySet(outcome.set);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function measureRouteDecision(set: PolicySet): { p50: number; p99: number; mean: number; eligible: number } {
  const item = {
    kind: 'refund',
    attributes: { pii: false, amount: 750, customerTier: 'standard', region: 'eu' },
    priority: 50,
  };
  const step = { capability: 'refund.assess', attempt: 1 };
  const now = new Date();
  const samples: number[] = [];
  let eligible = 0;
  for (let i = 0; i < ITERATIONS + 200; i++) {
    const t0 = performance.now();
    const guard = set.routeGuard({ item, step, now });
    let n = 0;
    for (const node of nodes) if (!guard.check(node)) n++;
    const t1 = performance.now();
    if (i >= 200) samples.push((t1 - t0) * 1000);
    eligible = n;
  }
  samples.sort((a, b) => a - b);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    eligible,
  };
}

const line = (figure: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: 'policies', figure, ...fields }));

const rules = routeRules();
for (const [label, split] of [
  ['route-decision', true],
  ['route-decision-without-split', false],
] as const) {
  const set = await build(rules, split);
  const r = measureRouteDecision(set);
  line(label, {
    rules: 20,
    nodes: nodes.length,
    iterations: ITERATIONS,
    p50_us: Math.round(r.p50 * 10) / 10,
    p99_us: Math.round(r.p99 * 10) / 10,
    mean_us: Math.round(r.mean * 10) / 10,
    eligible: r.eligible,
    ...(split ? { target_p99_us: 1000 } : {}),
  });
}
