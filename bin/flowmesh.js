#!/usr/bin/env node
// The flowmesh command: runs the TypeScript CLI (bin/cli.ts) through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
