// Compiling one CEL expression: parse, type-check against the hook's environment, bound its cost,
// and find the values it reads (for explanations). Failures carry the offset inside the expression.
import {
  type ASTNode,
  TypeError as CelTypeError,
  type Environment,
  ParseError,
  type ParseResult,
  serialize,
} from '@marcbachmann/cel-js';

export interface CompiledExpression {
  source: string;
  evaluate: ParseResult;
  /** Variables the expression reads. */
  variables: ReadonlySet<string>;
  /** The values it reads (`item.attributes.amount`, `node.kind`), compiled for explanations. */
  reads: ReadonlyArray<{ source: string; evaluate: ParseResult }>;
}

export interface ExpressionFailure {
  /** Offset in the expression where the problem is. */
  offset: number;
  reason: string;
}

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
/** A quantifier applied to a group that itself repeats: the shape of catastrophic backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;

function children(node: ASTNode): ASTNode[] {
  if (node.op === 'id' || node.op === 'value') return [];
  const out: ASTNode[] = [];
  const visit = (a: unknown): void => {
    if (Array.isArray(a)) for (const x of a) visit(x);
    else if (a !== null && typeof a === 'object' && 'op' in a) out.push(a as ASTNode);
  };
  visit(node.args);
  return out;
}

/** Refuses what could make evaluation expensive: nested comprehensions (quadratic) and risky regular expressions. */
function findCostProblem(root: ASTNode): ExpressionFailure | undefined {
  const stack: Array<{ node: ASTNode; loops: number }> = [{ node: root, loops: 0 }];
  while (stack.length > 0) {
    const { node, loops } = stack.pop()!;
    let depth = loops;
    if (node.op === 'rcall') {
      const [name, , args] = node.args;
      if (COMPREHENSIONS.has(name)) {
        depth += 1;
        if (depth > 1) {
          return {
            offset: node.start,
            reason: `${name} inside another comprehension: comprehensions (all, exists, exists_one, map, filter) may not nest, so a rule's cost stays linear in the item's size`,
          };
        }
      }
      if (name === 'matches') {
        const pattern = args[0];
        if (pattern?.op !== 'value' || typeof pattern.args !== 'string') {
          return {
            offset: node.start,
            reason: 'matches() takes a string literal pattern, so every pattern is reviewed with the rule',
          };
        }
        if (NESTED_QUANTIFIER.test(pattern.args)) {
          return {
            offset: pattern.start,
            reason: `pattern ${JSON.stringify(pattern.args)} repeats a repeated group, which can take exponential time; simplify it`,
          };
        }
      }
    }
    for (const child of children(node)) stack.push({ node: child, loops: depth });
  }
  return undefined;
}

/** The outermost selections rooted at a declared variable (`item.attributes.amount`) and bare variables. */
function findReads(
  root: ASTNode,
  declared: ReadonlySet<string>,
): { reads: string[]; variables: Set<string> } {
  const reads = new Set<string>();
  const variables = new Set<string>();
  const rootVariable = (node: ASTNode): string | undefined => {
    let n: ASTNode = node;
    while (n.op === '.' || n.op === '.?') n = n.args[0];
    return n.op === 'id' && declared.has(n.args) ? n.args : undefined;
  };
  const visit = (node: ASTNode, parentIsSelect: boolean): void => {
    if (node.op === 'id') {
      if (declared.has(node.args)) {
        variables.add(node.args);
        if (!parentIsSelect) reads.add(node.args);
      }
      return;
    }
    if (node.op === '.' || node.op === '.?') {
      const v = rootVariable(node);
      if (v && !parentIsSelect) reads.add(serialize(node));
      visit(node.args[0], true);
      return;
    }
    for (const child of children(node)) visit(child, false);
  };
  visit(root, false);
  return { reads: [...reads], variables };
}

export function compileExpression(
  env: Environment,
  source: string,
  declared: ReadonlySet<string>,
  readsEnv: Environment = env,
): CompiledExpression | ExpressionFailure {
  let evaluate: ParseResult;
  try {
    evaluate = env.parse(source);
  } catch (error) {
    if (error instanceof ParseError) {
      return { offset: error.range?.start ?? 0, reason: `syntax error: ${error.summary}` };
    }
    return { offset: 0, reason: `cannot parse: ${(error as Error).message.split('\n')[0]}` };
  }
  const checked = evaluate.check();
  if (!checked.valid) {
    const error = checked.error;
    const offset = error?.range?.start ?? 0;
    const summary = error?.summary ?? error?.message ?? 'type check failed';
    const kind = error instanceof CelTypeError ? 'type error' : 'error';
    return { offset, reason: `${kind}: ${summary}` };
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { offset: 0, reason: `type error: the expression must be a boolean, it is ${checked.type}` };
  }
  const cost = findCostProblem(evaluate.ast);
  if (cost) return cost;
  const { reads, variables } = findReads(evaluate.ast, declared);
  return {
    source,
    evaluate,
    variables,
    reads: reads.map((r) => ({ source: r, evaluate: readsEnv.parse(r) })),
  };
}

export function isExpressionFailure(
  value: CompiledExpression | ExpressionFailure,
): value is ExpressionFailure {
  return 'reason' in value;
}
