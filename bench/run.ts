// Runs the benchmarks in bench/: every one, or the ones named (`npm run bench -- submit`). Each bench is a
// script that prints one JSON line per figure; they run one after another so they do not disturb each other.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'))
  .sort();

/** The Node flags `npm start` runs the service with, so a bench measures the service as it runs. */
const SERVICE_NODE_FLAGS = ['--max-semi-space-size=64'];

const requested = process.argv.slice(2).filter((a) => a !== '--');
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown bench ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
  process.exit(2);
}

function run(name: string): Promise<number> {
  return new Promise((resolve) => {
    process.stderr.write(`# bench ${name}\n`);
    const child = spawn(
      process.execPath,
      [...SERVICE_NODE_FLAGS, '--import', 'tsx', join(here, `${name}.ts`)],
      {
        stdio: 'inherit',
        env: process.env,
      },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let failed = 0;
for (const name of requested.length > 0 ? requested : available) {
  const code = await run(name);
  if (code !== 0) {
    failed++;
    process.stderr.write(`# bench ${name} exited with ${code}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
