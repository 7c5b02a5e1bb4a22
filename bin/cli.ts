// The flowmesh command line: `flowmesh <command> [args]`. Each command is one entry of COMMANDS, so
// adding a command is adding an entry. This is an entry point: it may read process.env.
import { runPolicyCommand } from '../policies/cli.js';
import { MCP_STDIO_USAGE, runMcpStdio } from '../server/mcp/stdio.js';

export interface Command {
  summary: string;
  run(args: string[], env: Record<string, string | undefined>): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  policy: {
    summary: 'policy test [dir] — run the policy test cases (*.test.yaml) beside the rules',
    run: (args, env) => runPolicyCommand(args, env, (line) => process.stdout.write(`${line}\n`)),
  },
  mcp: {
    summary: MCP_STDIO_USAGE,
    run: (args, env) =>
      runMcpStdio(args, env, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: (line) => process.stderr.write(`${line}\n`),
      }),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(
    ([name, c]) => `  flowmesh ${c.summary.startsWith(name) ? c.summary : `${name} ${c.summary}`}`,
  );
  return ['usage: flowmesh <command> [args]', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(
      `${name && name !== 'help' && name !== '--help' ? `unknown command ${name}\n\n` : ''}${usage()}\n`,
    );
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  try {
    return await command.run(rest, process.env);
  } catch (error) {
    process.stderr.write(`flowmesh ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
