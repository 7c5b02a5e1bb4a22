// A policy set as the rest of flowmesh uses it: its version, its rules, and a method per hook.
import type { CompiledPolicySet } from './compile.js';
import type { NodeFacts } from './environment.js';
import {
  type AdmitInput,
  type CompleteInput,
  type Decision,
  evaluateAdmit,
  evaluateComplete,
  evaluateRoute,
  type NodeExclusion,
  type RouteGuard,
  type RouteInput,
  routeGuard,
} from './evaluate.js';
import { type ExplainInput, explain, type RuleExplanation } from './explain.js';
import type { Rule } from './rule-schema.js';

export interface PolicySet {
  readonly version: string;
  readonly rules: ReadonlyArray<Rule & { file: string; line: number }>;
  readonly sources: ReadonlyArray<{ file: string; text: string }>;
  /** Capabilities a completion rule requires (`require:`): the approval and review steps. */
  readonly requiredCapabilities: ReadonlySet<string>;
  admit(input: AdmitInput): Decision;
  /** Built once per step; `check(node)` per candidate. */
  routeGuard(input: RouteInput): RouteGuard;
  route(input: RouteInput & { nodes: readonly NodeFacts[] }): Decision & {
    eligible: string[];
    excluded: NodeExclusion[];
  };
  complete(input: CompleteInput): Decision;
  explain(input: ExplainInput): RuleExplanation[];
}

export function policySet(compiled: CompiledPolicySet): PolicySet {
  return {
    version: compiled.version,
    rules: compiled.rules.map((r) => ({ ...r.rule, file: r.file, line: r.line })),
    sources: compiled.sources,
    requiredCapabilities: new Set(compiled.rules.flatMap((r) => (r.rule.require ? [r.rule.require] : []))),
    admit: (input) => evaluateAdmit(compiled, input),
    routeGuard: (input) => routeGuard(compiled, input),
    route: (input) => evaluateRoute(compiled, input),
    complete: (input) => evaluateComplete(compiled, input),
    explain: (input) => explain(compiled, input),
  };
}
