// Reading rule files: FLOWMESH_POLICIES names one YAML file or a folder of `*.yaml` files.
// Policy test cases live beside the rules as `*.test.yaml` and are not rules.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FlowmeshError } from '../work/errors.js';
import {
  type CompileOptions,
  compilePolicySet,
  formatProblem,
  type PolicyProblem,
  type PolicySource,
} from './compile.js';
import { type PolicySet, policySet } from './policy-set.js';

export const TEST_FILE_SUFFIX = '.test.yaml';

function isRuleFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !name.endsWith(TEST_FILE_SUFFIX) && !name.endsWith('.test.yml');
}

async function filesOf(path: string, accept: (name: string) => boolean): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new FlowmeshError(
      'invalid',
      `cannot read policies at ${path}: ${(error as Error).message}; set FLOWMESH_POLICIES to a YAML file or a folder of them`,
      { cause: error },
    );
  }
  if (info.isFile()) return [path];
  const names = (await readdir(path)).filter(accept).sort();
  return names.map((n) => join(path, n));
}

export async function readPolicySources(path: string): Promise<PolicySource[]> {
  const files = await filesOf(path, isRuleFile);
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
}

/** The test-case files of a policy folder (or the one given). */
export async function findPolicyTestFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return path.endsWith(TEST_FILE_SUFFIX) ? [path] : [];
  return filesOf(path, (n) => n.endsWith(TEST_FILE_SUFFIX) || n.endsWith('.test.yml'));
}

/** The error for a refused set: every problem on its own line, and each as a field error. */
export function policyProblemsError(problems: readonly PolicyProblem[], what = 'policy set'): FlowmeshError {
  const lines = problems.map((p) => `  ${formatProblem(p)}`).join('\n');
  return new FlowmeshError(
    'invalid',
    `${what} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`,
    {
      errors: problems.map((p) => ({
        path: `${p.file}:${p.line}:${p.column}${p.ruleId ? ` ${p.ruleId}` : ''}${p.field ? `.${p.field}` : ''}`,
        message: p.reason,
      })),
      details: { problems },
    },
  );
}

/** Compiles sources into a set, or throws the invalid error listing every problem. */
export async function buildPolicySet(
  sources: readonly PolicySource[],
  options: CompileOptions,
): Promise<PolicySet> {
  const outcome = await compilePolicySet(sources, options);
  if (!outcome.ok) throw policyProblemsError(outcome.problems);
  return policySet(outcome.set);
}

export async function loadPolicySet(path: string, options: CompileOptions): Promise<PolicySet> {
  return buildPolicySet(await readPolicySources(path), options);
}
