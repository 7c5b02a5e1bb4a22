// Evaluating a compiled policy set at the three hooks. Any deny wins; a rule whose expression fails
// at run time counts as if it matched (fail closed) and the failure is reported with the decision.
// Route rules split a node-independent `when` (evaluated once per step) from a per-node `deny`.
import type { JsonValue } from '../work/json.js';
import type { CompiledPolicySet, CompiledRule } from './compile.js';
import {
  type ItemFacts,
  type NodeFacts,
  PolicyNode,
  policyItem,
  policyNode,
  policyStep,
  type StepFacts,
} from './environment.js';
import type { CompiledExpression } from './expression.js';
import type { Hook, Severity } from './rule-schema.js';

export type Effect =
  | { type: 'deny'; ruleId: string; message: string }
  | { type: 'require'; ruleId: string; capability: string }
  | { type: 'escalate'; ruleId: string; severity: Severity; reason: string };

export interface RuleFailure {
  ruleId: string;
  field: 'when' | 'deny';
  /** The node the failing expression was evaluated for (route). */
  nodeId?: string;
  error: string;
}

export interface Decision {
  hook: Hook;
  version: string;
  effects: Effect[];
  /** The rules that produced an effect, in rule order. */
  ruleIds: string[];
  failures: RuleFailure[];
}

export interface AdmitInput {
  item: ItemFacts;
  now: Date;
}

export interface RouteInput {
  item: ItemFacts;
  step: StepFacts;
  now: Date;
}

export interface CompleteInput {
  item: ItemFacts;
  step: StepFacts;
  node: NodeFacts;
  result: JsonValue;
  /** The confidence the node reported; absent makes rules that read it fail closed. */
  confidence?: number | null | undefined;
  now: Date;
}

export interface NodeExclusion {
  nodeId: string;
  ruleIds: string[];
  reasons: string[];
  failures: RuleFailure[];
}

/** The policy part of one routing decision, built once per step and asked once per candidate node. */
export interface RouteGuard {
  version: string;
  /** Escalations raised by route rules for this step (not per node). */
  effects: Effect[];
  failures: RuleFailure[];
  /** undefined when the node may take the step, otherwise why not. */
  check(node: NodeFacts): NodeExclusion | undefined;
}

type Outcome = { value: true } | { value: false } | { error: string };

function run(expression: CompiledExpression, context: Record<string, unknown>): Outcome {
  try {
    const value = expression.evaluate(context);
    if (value === true) return { value: true };
    if (value === false) return { value: false };
    return { error: `expected a boolean, got ${value === null ? 'null' : typeof value}` };
  } catch (error) {
    const e = error as { summary?: string; message?: string };
    return { error: e.summary ?? e.message?.split('\n')[0] ?? String(error) };
  }
}

export function denyMessage(rule: CompiledRule): string {
  return rule.rule.message ?? (rule.rule.description || `denied by policy ${rule.rule.id}`);
}

function effectOf(rule: CompiledRule): Effect {
  const r = rule.rule;
  if (r.require !== undefined) return { type: 'require', ruleId: r.id, capability: r.require };
  if (r.escalate !== undefined) return { type: 'escalate', ruleId: r.id, ...r.escalate };
  return { type: 'deny', ruleId: r.id, message: denyMessage(rule) };
}

function decide(
  set: CompiledPolicySet,
  hook: Hook,
  rules: readonly CompiledRule[],
  context: Record<string, unknown>,
): Decision {
  const decision: Decision = { hook, version: set.version, effects: [], ruleIds: [], failures: [] };
  for (const rule of rules) {
    const when = run(rule.when, context);
    if ('error' in when) decision.failures.push({ ruleId: rule.rule.id, field: 'when', error: when.error });
    else if (!when.value) continue;
    if (rule.deny) {
      const deny = run(rule.deny, context);
      if ('error' in deny) decision.failures.push({ ruleId: rule.rule.id, field: 'deny', error: deny.error });
      else if (!deny.value) continue;
    }
    decision.effects.push(effectOf(rule));
    decision.ruleIds.push(rule.rule.id);
  }
  return decision;
}

export function isDenied(decision: Decision): boolean {
  return decision.effects.some((e) => e.type === 'deny');
}

export function evaluateAdmit(set: CompiledPolicySet, input: AdmitInput): Decision {
  return decide(set, 'admit', set.byHook.admit, { item: policyItem(input.item), now: input.now });
}

export function evaluateComplete(set: CompiledPolicySet, input: CompleteInput): Decision {
  return decide(set, 'complete', set.byHook.complete, {
    item: policyItem(input.item),
    step: policyStep(input.step),
    node: policyNode(input.node),
    result: input.result,
    confidence: input.confidence ?? null,
    now: input.now,
  });
}

// Nodes of a network are long-lived objects, so their CEL form is built once per node object.
function cachedNode(set: CompiledPolicySet, node: NodeFacts): PolicyNode {
  if (node instanceof PolicyNode) return node;
  let pn = set.nodeForms.get(node);
  if (!pn) {
    pn = policyNode(node);
    set.nodeForms.set(node, pn);
  }
  return pn;
}

// A deny that reads only `node` has one answer per node for the life of the policy set: remember it.
function runForNode(rule: CompiledRule, node: PolicyNode, context: Record<string, unknown>): Outcome {
  const deny = rule.deny!;
  if (deny.variables.size !== 1) return run(deny, context);
  let outcome = rule.nodeAnswers.get(node) as Outcome | undefined;
  if (!outcome) {
    outcome = run(deny, context);
    rule.nodeAnswers.set(node, outcome);
  }
  return outcome;
}

export function routeGuard(set: CompiledPolicySet, input: RouteInput): RouteGuard {
  const context: Record<string, unknown> = {
    item: policyItem(input.item),
    step: policyStep(input.step),
    now: input.now,
    node: undefined,
  };
  const effects: Effect[] = [];
  const failures: RuleFailure[] = [];
  /** Rules that deny every node for this step (their deny does not read node, or when failed). */
  const denyAll: NodeExclusion = { nodeId: '', ruleIds: [], reasons: [], failures: [] };
  const perNode: CompiledRule[] = [];
  for (const rule of set.byHook.route) {
    const when = run(rule.when, context);
    if ('error' in when) {
      const failure: RuleFailure = { ruleId: rule.rule.id, field: 'when', error: when.error };
      failures.push(failure);
      if (rule.deny) {
        denyAll.ruleIds.push(rule.rule.id);
        denyAll.reasons.push(`${rule.rule.id} failed to evaluate (fail closed): ${when.error}`);
        denyAll.failures.push(failure);
        continue;
      }
    } else if (!when.value) continue;
    if (!rule.deny) {
      effects.push(effectOf(rule));
      continue;
    }
    if (rule.deny.variables.has('node')) {
      perNode.push(rule);
      continue;
    }
    const deny = run(rule.deny, context);
    if ('error' in deny) {
      const failure: RuleFailure = { ruleId: rule.rule.id, field: 'deny', error: deny.error };
      failures.push(failure);
      denyAll.failures.push(failure);
      denyAll.ruleIds.push(rule.rule.id);
      denyAll.reasons.push(`${rule.rule.id} failed to evaluate (fail closed): ${deny.error}`);
    } else if (deny.value) {
      denyAll.ruleIds.push(rule.rule.id);
      denyAll.reasons.push(denyMessage(rule));
    }
  }

  return {
    version: set.version,
    effects,
    failures,
    check(node) {
      let exclusion: NodeExclusion | undefined;
      if (denyAll.ruleIds.length > 0) {
        exclusion = {
          nodeId: node.id,
          ruleIds: [...denyAll.ruleIds],
          reasons: [...denyAll.reasons],
          failures: [...denyAll.failures],
        };
      }
      if (perNode.length === 0) return exclusion;
      const pn = cachedNode(set, node);
      context.node = pn;
      for (const rule of perNode) {
        const deny = runForNode(rule, pn, context);
        if ('error' in deny) {
          exclusion ??= { nodeId: node.id, ruleIds: [], reasons: [], failures: [] };
          exclusion.ruleIds.push(rule.rule.id);
          exclusion.reasons.push(`${rule.rule.id} failed to evaluate (fail closed): ${deny.error}`);
          exclusion.failures.push({
            ruleId: rule.rule.id,
            field: 'deny',
            nodeId: node.id,
            error: deny.error,
          });
        } else if (deny.value) {
          exclusion ??= { nodeId: node.id, ruleIds: [], reasons: [], failures: [] };
          exclusion.ruleIds.push(rule.rule.id);
          exclusion.reasons.push(denyMessage(rule));
        }
      }
      return exclusion;
    },
  };
}

/** A whole route decision over candidate nodes: who stays eligible, who is excluded and why. */
export function evaluateRoute(
  set: CompiledPolicySet,
  input: RouteInput & { nodes: readonly NodeFacts[] },
): Decision & { eligible: string[]; excluded: NodeExclusion[] } {
  const guard = routeGuard(set, input);
  const eligible: string[] = [];
  const excluded: NodeExclusion[] = [];
  for (const node of input.nodes) {
    const x = guard.check(node);
    if (x) excluded.push(x);
    else eligible.push(node.id);
  }
  const ruleIds = new Set<string>(guard.effects.map((e) => e.ruleId));
  const failures = [...guard.failures];
  for (const x of excluded) {
    for (const id of x.ruleIds) ruleIds.add(id);
    for (const f of x.failures) if (f.nodeId) failures.push(f);
  }
  const effects: Effect[] = [...guard.effects];
  const denyRules = [...new Set(excluded.flatMap((x) => x.ruleIds))];
  for (const id of denyRules) {
    const rule = set.byHook.route.find((r) => r.rule.id === id);
    if (rule) effects.push({ type: 'deny', ruleId: id, message: denyMessage(rule) });
  }
  return {
    hook: 'route',
    version: set.version,
    effects,
    ruleIds: [...ruleIds],
    failures,
    eligible,
    excluded,
  };
}
