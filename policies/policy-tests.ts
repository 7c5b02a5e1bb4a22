// Policy tests: YAML cases beside the rules. Each case gives an item (and a node, a step, a result)
// and the effects it expects; a failing case reports the rule, the inputs and the values that decided.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../work/errors.js';
import { type JsonObject, JsonObjectSchema, type JsonValue, JsonValueSchema } from '../work/json.js';
import { CapabilityIdSchema } from '../work/work-item.js';
import type { NodeFacts } from './environment.js';
import type { Decision } from './evaluate.js';
import type { RuleExplanation } from './explain.js';
import type { PolicySet } from './policy-set.js';
import { HOOKS, SEVERITIES, type Severity } from './rule-schema.js';

const InlineNodeSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  kind: z.enum(['human_team', 'self_service', 'ai_agent']),
  capabilities: z.array(CapabilityIdSchema).default([]),
  attributes: JsonObjectSchema.default({}),
});

export const PolicyCaseSchema = z.strictObject({
  name: z.string().min(1),
  on: z.enum(HOOKS),
  item: z.strictObject({
    kind: z.string().min(1),
    attributes: JsonObjectSchema.default({}),
    priority: z.int().min(0).max(100).default(50),
    title: z.string().optional(),
    dueAt: z.iso.datetime({ offset: true }).optional(),
  }),
  step: z.strictObject({ capability: CapabilityIdSchema, attempt: z.int().min(1).default(1) }).optional(),
  node: z.union([z.string().min(1), InlineNodeSchema]).optional(),
  result: JsonValueSchema.optional(),
  confidence: z.number().min(0).max(1).optional(),
  now: z.iso.datetime({ offset: true }).default('2026-01-05T09:00:00Z'),
  expect: z.strictObject({
    deny: z.boolean().default(false),
    require: z.array(CapabilityIdSchema).default([]),
    escalate: z.array(z.enum(SEVERITIES)).default([]),
    /** When given, exactly these rules decided. */
    rules: z.array(z.string()).optional(),
  }),
});
export type PolicyCase = z.infer<typeof PolicyCaseSchema>;

export interface CaseResult {
  file: string;
  line: number;
  name: string;
  passed: boolean;
  /** Why it failed: expected vs actual, or a problem with the case itself. */
  mismatches: string[];
  inputs: Record<string, JsonValue>;
  decision?: Decision;
  explanations: RuleExplanation[];
}

export interface PolicyTestReport {
  version: string;
  results: CaseResult[];
  passed: number;
  failed: number;
}

interface Observed {
  deny: boolean;
  require: string[];
  escalate: Severity[];
  rules: string[];
}

function observe(decision: Decision): Observed {
  return {
    deny: decision.effects.some((e) => e.type === 'deny'),
    require: decision.effects.flatMap((e) => (e.type === 'require' ? [e.capability] : [])),
    escalate: decision.effects.flatMap((e) => (e.type === 'escalate' ? [e.severity] : [])),
    rules: decision.ruleIds,
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

export function runPolicyCase(
  set: PolicySet,
  c: PolicyCase,
  nodes: readonly NodeFacts[],
  where: { file: string; line: number },
): CaseResult {
  const base = { file: where.file, line: where.line, name: c.name };
  let node: NodeFacts | undefined;
  if (typeof c.node === 'string') {
    node = nodes.find((n) => n.id === c.node);
    if (!node) {
      return {
        ...base,
        passed: false,
        mismatches: [`node ${c.node} is not in the network`],
        inputs: {},
        explanations: [],
      };
    }
  } else node = c.node;
  const needsNode = c.on !== 'admit';
  if (needsNode && (!node || !c.step)) {
    return {
      ...base,
      passed: false,
      mismatches: [`an on: ${c.on} case needs step and node`],
      inputs: {},
      explanations: [],
    };
  }
  const item = { ...c.item, title: c.item.title ?? null, dueAt: c.item.dueAt ?? null };
  const now = new Date(c.now);
  const step = c.step;
  let decision: Decision;
  if (c.on === 'admit') decision = set.admit({ item, now });
  else if (c.on === 'route') decision = set.route({ item, step: step!, now, nodes: [node!] });
  else
    decision = set.complete({
      item,
      step: step!,
      node: node!,
      result: c.result ?? null,
      confidence: c.confidence,
      now,
    });
  const got = observe(decision);
  const mismatches: string[] = [];
  if (got.deny !== c.expect.deny) mismatches.push(`deny: expected ${c.expect.deny}, got ${got.deny}`);
  if (!sameSet(got.require, c.expect.require))
    mismatches.push(`require: expected [${c.expect.require.join(', ')}], got [${got.require.join(', ')}]`);
  if (!sameSet(got.escalate, c.expect.escalate))
    mismatches.push(`escalate: expected [${c.expect.escalate.join(', ')}], got [${got.escalate.join(', ')}]`);
  if (c.expect.rules && !sameSet(got.rules, c.expect.rules))
    mismatches.push(`rules: expected [${c.expect.rules.join(', ')}], got [${got.rules.join(', ')}]`);
  const inputs: Record<string, JsonValue> = { item: item as unknown as JsonObject };
  if (step) inputs.step = step as unknown as JsonObject;
  if (node) inputs.node = { id: node.id, kind: node.kind, attributes: node.attributes ?? {} };
  if (c.on === 'complete') {
    inputs.result = c.result ?? null;
    inputs.confidence = c.confidence ?? null;
  }
  return {
    ...base,
    passed: mismatches.length === 0,
    mismatches,
    inputs,
    decision,
    explanations: set.explain({
      on: c.on,
      item,
      step,
      node,
      result: c.result,
      confidence: c.confidence,
      now,
    }),
  };
}

/** Reads and runs one case file; a malformed file is reported as one failing case naming the field. */
export async function runPolicyTestFile(
  set: PolicySet,
  file: string,
  nodes: readonly NodeFacts[],
): Promise<CaseResult[]> {
  const fail = (line: number, name: string, message: string): CaseResult => ({
    file,
    line,
    name,
    passed: false,
    mismatches: [message],
    inputs: {},
    explanations: [],
  });
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  if (doc.errors.length > 0)
    return [fail(1, '(file)', `not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`)];
  const raw = doc.toJS();
  if (!Array.isArray(raw)) return [fail(1, '(file)', 'a policy test file is a YAML list of cases')];
  const lineOf = (index: number) => {
    const node = doc.getIn([index], true) as { range?: [number, number, number] } | undefined;
    return node?.range ? text.slice(0, node.range[0]).split('\n').length : 1;
  };
  return raw.map((entry: unknown, index: number) => {
    const line = lineOf(index);
    const parsed = PolicyCaseSchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const name = (entry as { name?: unknown })?.name;
      return fail(
        line,
        typeof name === 'string' ? name : `case ${index + 1}`,
        `${formatPath(issue.path) || '(case)'}: ${issue.message}`,
      );
    }
    return runPolicyCase(set, parsed.data, nodes, { file, line });
  });
}

export async function runPolicyTests(
  set: PolicySet,
  files: readonly string[],
  nodes: readonly NodeFacts[],
): Promise<PolicyTestReport> {
  const results: CaseResult[] = [];
  for (const f of files) results.push(...(await runPolicyTestFile(set, f, nodes)));
  const failed = results.filter((r) => !r.passed).length;
  return { version: set.version, results, passed: results.length - failed, failed };
}

/** A failing case as a person reads it: the case, what differed, the inputs, each rule's values. */
export function formatCaseFailure(r: CaseResult): string {
  const out = [`✗ ${r.file}:${r.line} ${r.name}`];
  for (const m of r.mismatches) out.push(`    ${m}`);
  if (Object.keys(r.inputs).length > 0) {
    out.push('    inputs:');
    for (const [k, v] of Object.entries(r.inputs)) out.push(`      ${k} = ${JSON.stringify(v)}`);
  }
  for (const f of r.decision?.failures ?? []) {
    out.push(`    rule ${f.ruleId} failed to evaluate its ${f.field} (counted as matched): ${f.error}`);
  }
  if (r.explanations.length > 0) out.push('    rules:');
  for (const e of r.explanations) {
    out.push(
      `      ${e.applied ? '●' : '○'} ${e.ruleId} (${e.file}:${e.line}, ${e.effect})${e.applied ? ' applied' : ''}`,
    );
    for (const [label, cond] of [
      ['when', e.when],
      ['deny', e.deny],
    ] as const) {
      if (!cond) continue;
      const outcome = cond.error !== undefined ? `error: ${cond.error}` : String(cond.value);
      out.push(`          ${label}: ${cond.expression.replace(/\s+/g, ' ')}  → ${outcome}`);
      for (const [read, value] of Object.entries(cond.values))
        out.push(`            ${read} = ${JSON.stringify(value)}`);
    }
  }
  return out.join('\n');
}
