// Explanations for authors: for each rule of a hook, what its conditions evaluated to and the values
// they read. Slower than evaluation (it evaluates every read), so it serves dry runs and policy tests.
import type { JsonValue } from '../work/json.js';
import type { CompiledPolicySet, CompiledRule } from './compile.js';
import {
  celToJson,
  type ItemFacts,
  type NodeFacts,
  policyItem,
  policyNode,
  policyStep,
  type StepFacts,
} from './environment.js';
import type { CompiledExpression } from './expression.js';
import type { Hook } from './rule-schema.js';

export interface ConditionExplanation {
  expression: string;
  /** true / false, or absent when it failed. */
  value?: boolean;
  error?: string;
  /** What each value the expression reads evaluated to (`"<absent>"` when it could not be read). */
  values: Record<string, JsonValue>;
}

export interface RuleExplanation {
  ruleId: string;
  description: string;
  file: string;
  line: number;
  effect: 'deny' | 'require' | 'escalate';
  /** The node a route rule's deny was evaluated for. */
  nodeId?: string;
  when: ConditionExplanation;
  deny?: ConditionExplanation;
  /** Whether the rule produced its effect (a failure counts, fail closed). */
  applied: boolean;
}

export interface ExplainInput {
  on: Hook;
  item: ItemFacts;
  step?: StepFacts | undefined;
  node?: NodeFacts | undefined;
  result?: JsonValue | undefined;
  confidence?: number | null | undefined;
  now: Date;
}

function explainCondition(
  expression: CompiledExpression,
  context: Record<string, unknown>,
): ConditionExplanation {
  const values: Record<string, JsonValue> = {};
  for (const read of expression.reads) {
    try {
      values[read.source] = celToJson(read.evaluate(context));
    } catch {
      values[read.source] = '<absent>';
    }
  }
  try {
    const value = expression.evaluate(context);
    if (typeof value === 'boolean') return { expression: expression.source, value, values };
    return { expression: expression.source, error: `expected a boolean, got ${typeof value}`, values };
  } catch (error) {
    const e = error as { summary?: string; message?: string };
    return { expression: expression.source, error: e.summary ?? String(e.message), values };
  }
}

function explainRule(rule: CompiledRule, context: Record<string, unknown>, nodeId?: string): RuleExplanation {
  const when = explainCondition(rule.when, context);
  const whenHolds = when.value === true || when.error !== undefined;
  const deny = rule.deny && whenHolds ? explainCondition(rule.deny, context) : undefined;
  const applied = whenHolds && (deny === undefined || deny.value === true || deny.error !== undefined);
  return {
    ruleId: rule.rule.id,
    description: rule.rule.description,
    file: rule.file,
    line: rule.line,
    effect: rule.effect,
    ...(nodeId !== undefined && rule.deny ? { nodeId } : {}),
    when,
    ...(deny ? { deny } : {}),
    applied,
  };
}

export function explain(set: CompiledPolicySet, input: ExplainInput): RuleExplanation[] {
  const context: Record<string, unknown> = { item: policyItem(input.item), now: input.now };
  if (input.on !== 'admit') {
    context.step = policyStep(input.step ?? { capability: 'unknown', attempt: 1 });
    if (input.node) context.node = policyNode(input.node);
  }
  if (input.on === 'complete') {
    context.result = input.result ?? null;
    context.confidence = input.confidence ?? null;
  }
  return set.byHook[input.on].map((rule) => explainRule(rule, context, input.node?.id));
}
