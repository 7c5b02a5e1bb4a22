// `flowmesh policy test [dir]`: load the rules and the network, run every case, print failures with
// the rule, the inputs and the values that decided; exit 1 when a case fails or the rules are invalid.
import { loadNetworkFile } from '../capabilities/network-file.js';
import { isFlowmeshError } from '../work/errors.js';
import { findPolicyTestFiles, loadPolicySet } from './load.js';
import { formatCaseFailure, runPolicyTests } from './policy-tests.js';

const USAGE = 'usage: flowmesh policy test [dir] [--network <file>]';

export async function runPolicyCommand(
  args: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'test') {
    print(USAGE);
    return 2;
  }
  let dir: string | undefined;
  let networkFile = env.FLOWMESH_NETWORK || 'examples/network.yaml';
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--network' && rest[i + 1]) networkFile = rest[++i]!;
    else if (!a.startsWith('-') && dir === undefined) dir = a;
    else {
      print(USAGE);
      return 2;
    }
  }
  dir ??= env.FLOWMESH_POLICIES || 'examples/policies';
  try {
    const network = await loadNetworkFile(networkFile);
    const set = await loadPolicySet(dir, { capabilities: new Set(network.capabilities.map((c) => c.id)) });
    const files = await findPolicyTestFiles(dir);
    if (files.length === 0) {
      print(`no policy test files (*.test.yaml) in ${dir}`);
      return 1;
    }
    const report = await runPolicyTests(set, files, network.nodes);
    for (const r of report.results) print(r.passed ? `✓ ${r.name}` : formatCaseFailure(r));
    print('');
    print(
      `${report.passed} passed, ${report.failed} failed — policy set ${set.version} (${set.rules.length} rules, network ${networkFile})`,
    );
    return report.failed === 0 ? 0 : 1;
  } catch (error) {
    if (isFlowmeshError(error)) {
      print(error.message);
      return 1;
    }
    throw error;
  }
}
