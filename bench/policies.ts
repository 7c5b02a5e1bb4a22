// Figures for policy evaluation. Prints one JSON line per figure.
//   route-decision: one routing decision (guard built once per step, then 100 candidate nodes) with
//   20 route rules, p50/p99 in µs (target p99 ≤ 1 ms); beside it the same rules with `when` folded
//   into `deny`, so every condition runs per node, to show what splitting when from deny saves.
//   throughput: end-to-end items/s (submit → claim → complete through the core functions the HTTP
//   routes call) with the example guardrails on vs no rules, on PGlite in memory; rounds alternate so
//   both see the same machine load (target: at most 10 % loss).
import { readFile } from 'node:fs/promises';
import { claimSteps } from '../capabilities/claims.js';
import { completeStep } from '../capabilities/leases.js';
import { submitWorkItem } from '../capabilities/work-items.js';
import { compilePolicySet, type PolicySource } from '../policies/compile.js';
import { type PolicySet, policySet } from '../policies/policy-set.js';
import { parseConfig } from '../server/config.js';
import { createRuntime } from '../server/runtime.js';
import type { Principal } from '../work/principal.js';
import { percentile } from './support.js';

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

const ITEMS = Number(process.env.BENCH_ITEMS ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const operator: Principal = { id: 'bench:operator', name: 'bench', role: 'operator', nodeId: null };

/** Items/s for `items` items: 2 submitters and 2 claimers (an AI agent completing with confidence 0.95). */
async function throughput(policies: PolicySource[], items: number): Promise<number> {
  const runtime = await createRuntime(
    parseConfig({
      FLOWMESH_DATA_DIR: 'memory://',
      FLOWMESH_LOG_LEVEL: 'silent',
      FLOWMESH_ADMIN_KEY: 'bench-admin-key-0123456789',
    }),
    { policies },
  );
  try {
    let submitted = 0;
    let completed = 0;
    const t0 = performance.now();
    const submitter = async () => {
      while (submitted < items) {
        submitted++;
        await submitWorkItem(runtime, operator, {
          kind: 'support.question',
          capability: 'kb.answer',
          attributes: { customerTier: 'standard', pii: false, amount: 40 },
        });
      }
    };
    const claimer = async () => {
      while (completed < items) {
        const claims = await claimSteps(runtime, operator, { nodeId: 'refund-agent', max: 1 });
        if (claims.length === 0) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        for (const c of claims) {
          await completeStep(runtime, operator, {
            workItemId: c.workItem.id,
            stepId: c.step.id,
            leaseToken: c.lease.token,
            result: { answer: 'see the help centre' },
            confidence: 0.95,
          });
          completed++;
        }
      }
    };
    await Promise.all([submitter(), submitter(), claimer(), claimer()]);
    return items / ((performance.now() - t0) / 1000);
  } finally {
    await runtime.close();
  }
}

const example: PolicySource[] = [
  { file: 'guardrails.yaml', text: await readFile('examples/policies/guardrails.yaml', 'utf8') },
];
await throughput([], 100); // warm-up
const on: number[] = [];
const off: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  off.push(await throughput([], ITEMS));
  on.push(await throughput(example, ITEMS));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rateOff = median(off);
const rateOn = median(on);
line('throughput', {
  driver: 'pglite',
  items: ITEMS,
  rounds: ROUNDS,
  no_rules_items_per_s: Math.round(rateOff),
  example_rules_items_per_s: Math.round(rateOn),
  loss_percent: Math.round((1 - rateOn / rateOff) * 1000) / 10,
  target_loss_percent: 10,
});
