// Turning rule files into a checked policy set. Every problem names the file, the rule, the position
// (line and column in the file) and the reason; a set with any problem is refused as a whole.
import { isNode, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { canonicalJson, sha256Hex } from '../work/hash.js';
import { createEnvironments, type PolicyEnvironments, type PolicyNode, VARIABLES } from './environment.js';
import { type CompiledExpression, compileExpression, isExpressionFailure } from './expression.js';
import { effectOf, type Hook, type Rule, RuleSchema } from './rule-schema.js';

export interface PolicySource {
  /** A name for messages: the file path, or the name given in PUT /v1/policies. */
  file: string;
  text: string;
}

export interface PolicyProblem {
  file: string;
  ruleId: string | null;
  /** The rule's field, such as `deny` or `require`, when the problem is inside one. */
  field: string | null;
  line: number;
  column: number;
  reason: string;
}

export interface CompiledRule {
  rule: Rule;
  file: string;
  line: number;
  effect: 'deny' | 'require' | 'escalate';
  when: CompiledExpression;
  /** The node-dependent condition of a deny rule (route) or the denial condition (admit). */
  deny: CompiledExpression | null;
  /** Answers of a deny that reads only `node`, per node: they hold as long as this set runs. */
  nodeAnswers: WeakMap<object, unknown>;
}

export interface CompiledPolicySet {
  version: string;
  sources: PolicySource[];
  rules: CompiledRule[];
  byHook: Record<Hook, CompiledRule[]>;
  environments: PolicyEnvironments;
  /** Network nodes in their CEL form, built once per node object. */
  nodeForms: WeakMap<object, PolicyNode>;
}

export type CompileOutcome = { ok: true; set: CompiledPolicySet } | { ok: false; problems: PolicyProblem[] };

export interface CompileOptions {
  /** Capabilities of the network: `require` must name one of them. */
  capabilities: ReadonlySet<string>;
}

/** `file:line:column: rule <id> (<field>): reason` — the one way problems are printed. */
export function formatProblem(p: PolicyProblem): string {
  const where = p.ruleId
    ? ` rule ${p.ruleId}${p.field ? ` (${p.field})` : ''}:`
    : p.field
      ? ` ${p.field}:`
      : '';
  return `${p.file}:${p.line}:${p.column}:${where} ${p.reason}`;
}

function positionOf(lines: LineCounter, offset: number): { line: number; column: number } {
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/**
 * Where offset `at` of a scalar's value is in the file. YAML may fold lines or strip indentation, so the
 * expression's words are found one after another in the source, from the scalar's start.
 */
function expressionOffset(
  source: string,
  node: YamlNode | undefined,
  expression: string,
  at: number,
): number {
  const start = node?.range?.[0] ?? 0;
  const end = node?.range?.[1] ?? source.length;
  let cursor = start;
  for (const word of expression.matchAll(/\S+/g)) {
    const wordStart = word.index;
    const found = source.indexOf(word[0], cursor);
    if (found < 0 || found > end) return start;
    if (at < wordStart + word[0].length) return found + Math.max(0, at - wordStart);
    cursor = found + word[0].length;
  }
  return cursor;
}

export async function compilePolicySet(
  sources: readonly PolicySource[],
  options: CompileOptions,
): Promise<CompileOutcome> {
  const environments = createEnvironments();
  const declared = {
    admit: new Set(VARIABLES.admit),
    'route-when': new Set(VARIABLES['route-when']),
    route: new Set(VARIABLES.route),
    complete: new Set(VARIABLES.complete),
  };
  const problems: PolicyProblem[] = [];
  const rules: CompiledRule[] = [];
  const seen = new Map<string, string>();

  for (const src of sources) {
    const lines = new LineCounter();
    const doc = parseDocument(src.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const { line, column } = positionOf(lines, e.pos[0]);
        problems.push({
          file: src.file,
          ruleId: null,
          field: null,
          line,
          column,
          reason: `not valid YAML: ${e.message.split('\n')[0]}`,
        });
      }
      continue;
    }
    const raw = doc.toJS() ?? [];
    const at = (path: readonly (string | number)[]): { line: number; column: number } => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return positionOf(lines, node.range[0]);
      }
      return { line: 1, column: 1 };
    };
    const idAt = (index: unknown): string | null => {
      const r = Array.isArray(raw) && typeof index === 'number' ? raw[index] : undefined;
      return r && typeof r === 'object' && typeof r.id === 'string' ? r.id : null;
    };
    if (!Array.isArray(raw)) {
      problems.push({
        file: src.file,
        ruleId: null,
        field: null,
        ...at([]),
        reason: 'a policy file is a YAML list of rules',
      });
      continue;
    }
    // Each rule is checked on its own, so one malformed rule does not hide the problems of the others.
    const valid: Array<{ rule: Rule; index: number }> = [];
    raw.forEach((entry: unknown, index: number) => {
      const parsed = RuleSchema.safeParse(entry);
      if (parsed.success) {
        valid.push({ rule: parsed.data, index });
        return;
      }
      for (const issue of parsed.error.issues) {
        const inner = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
        const path = [index, ...inner];
        const field = inner.length > 0 ? inner.join('.') : null;
        const reason =
          issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue.message;
        problems.push({ file: src.file, ruleId: idAt(index), field, ...at(path), reason });
      }
    });

    for (const { rule, index } of valid) {
      const problem = (field: string | null, position: { line: number; column: number }, reason: string) =>
        problems.push({ file: src.file, ruleId: rule.id, field, ...position, reason });
      const previous = seen.get(rule.id);
      if (previous) {
        problem('id', at([index, 'id']), `duplicate rule id (first defined in ${previous})`);
        continue;
      }
      seen.set(rule.id, `${src.file}:${at([index, 'id']).line}`);
      const effect = effectOf(rule);
      if (rule.require !== undefined && !options.capabilities.has(rule.require)) {
        problem(
          'require',
          at([index, 'require']),
          `unknown capability ${rule.require} (the network declares ${[...options.capabilities].sort().join(', ') || 'none'})`,
        );
      }
      const compileField = (
        field: 'when' | 'deny',
        envName: Hook | 'route-when',
      ): CompiledExpression | null => {
        const expression = rule[field];
        if (expression === undefined) return null;
        const compiled = compileExpression(
          environments[envName],
          expression,
          declared[envName],
          environments[rule.on],
        );
        if (!isExpressionFailure(compiled)) return compiled;
        const node = doc.getIn([index, field], true) as YamlNode | undefined;
        const offset = isScalar(node)
          ? expressionOffset(src.text, node, expression, compiled.offset)
          : (node?.range?.[0] ?? 0);
        let reason = compiled.reason;
        if (field === 'when' && rule.on === 'route' && /Unknown variable: node\b/.test(reason)) {
          reason = `${reason} — a route rule's when is evaluated once per step, before any node; put node conditions in deny`;
        } else if (/Unknown variable/.test(reason)) {
          reason = `${reason} (on: ${rule.on} rules may use ${VARIABLES[envName].join(', ')})`;
        }
        problem(field, positionOf(lines, offset), reason);
        return null;
      };
      const when = compileField('when', rule.on === 'route' ? 'route-when' : rule.on);
      const deny = compileField('deny', rule.on);
      if (!when || (rule.deny !== undefined && !deny)) continue;
      rules.push({
        rule,
        file: src.file,
        line: at([index]).line,
        effect,
        when,
        deny,
        nodeAnswers: new WeakMap(),
      });
    }
  }

  if (problems.length > 0) {
    problems.sort((a, b) =>
      a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1,
    );
    return { ok: false, problems };
  }
  const version = `sha256:${(await sha256Hex(canonicalJson(sources.map((s) => [s.file.split('/').pop(), s.text])))).slice(0, 16)}`;
  const byHook: Record<Hook, CompiledRule[]> = { admit: [], route: [], complete: [] };
  for (const r of rules) byHook[r.rule.on].push(r);
  return {
    ok: true,
    set: { version, sources: [...sources], rules, byHook, environments, nodeForms: new WeakMap() },
  };
}
