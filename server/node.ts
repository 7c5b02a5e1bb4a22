// Entry point for Node.js: read the environment, build the runtime, serve HTTP, stop cleanly.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { serve } from '@hono/node-server';
import { watchPolicies } from '../policies/watch.js';
import { isFlowmeshError } from '../work/errors.js';
import { jsonLogger } from '../work/logger.js';
import { parseConfig } from './config.js';
import { ensureDevAdminKey } from './dev-credentials.js';
import type { DocsAssets } from './docs.js';
import { createRuntime } from './runtime.js';

function nodeDocsAssets(): DocsAssets {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
  return { load: (name) => readFile(join(dir, name), 'utf8').catch(() => undefined) };
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const logger = jsonLogger(config.logLevel, (line) => process.stdout.write(`${line}\n`));
  const runtime = await createRuntime(config, { logger, docsAssets: nodeDocsAssets() });
  await ensureDevAdminKey(runtime, (line) => process.stdout.write(`${line}\n`));
  runtime.startBackground();

  // Policies reload on SIGHUP (and on file changes with FLOWMESH_POLICIES_WATCH); a set that does not
  // load leaves the running one in place and the log says why.
  process.on('SIGHUP', () => {
    runtime.policies.reload('signal').then((outcome) => {
      if (outcome.ok)
        logger.info('policies reloaded', { version: outcome.version, changed: outcome.changed });
      else
        logger.warn('policy reload refused; the running set stays', {
          version: outcome.runningVersion,
          problems: outcome.problems.map(
            (p) => `${p.file}:${p.line}:${p.column} ${p.ruleId ?? ''} ${p.reason}`,
          ),
        });
    });
  });
  const policyWatch = config.watchPolicies ? watchPolicies(runtime.policies, logger) : undefined;

  const server = serve({ fetch: runtime.app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info('flowmesh listening', {
      url: `http://${info.address === '0.0.0.0' ? 'localhost' : info.address}:${info.port}`,
      database: runtime.store.kind,
      network: config.networkFile,
      policies: `${config.policiesPath} (${runtime.policies.current().version})`,
      nodes: runtime.network.nodes.length,
      capabilities: runtime.network.capabilities.length,
    });
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    policyWatch?.close();
    server.close(() => {
      runtime.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `flowmesh could not start: ${isFlowmeshError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
