// The Runtime: everything a flowmesh process needs, built once from a Config and handed to the edges.
// No module-level singletons, so tests build as many runtimes as they like.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { builtInAgents } from '../agents/builtins.js';
import { type AgentHost, createAgentHost } from '../agents/host.js';
import { mcpPushTransport } from '../agents/mcp-push.js';
import { createValueStreamDriver } from '../agents/value-stream-driver.js';
import { type RouterBackground, startRouterBackground } from '../capabilities/background.js';
import type { Core } from '../capabilities/core.js';
import { type EscalationBackground, startEscalationBackground } from '../capabilities/escalation-sweep.js';
import { createEventFeed, type EventFeed } from '../capabilities/event-feed.js';
import { syncNetwork } from '../capabilities/network.js';
import { loadNetworkFile } from '../capabilities/network-file.js';
import type { Network } from '../capabilities/network-schema.js';
import { listWorkItemDecisions } from '../capabilities/policy-completion.js';
import { createRouter } from '../capabilities/router.js';
import type { PolicySource } from '../policies/compile.js';
import { createPolicyHolder, type PolicyHolder } from '../policies/holder.js';
import { buildPolicySet, loadPolicySet } from '../policies/load.js';
import { policyRouteGuard } from '../policies/router-guard.js';
import { openStore, type Store } from '../store/database.js';
import { deleteExpiredIdempotencyKeys } from '../store/idempotency.js';
import { createTelemetry, type Telemetry } from '../telemetry/setup.js';
import { type Clock, systemClock } from '../work/clock.js';
import { type Logger, silentLogger } from '../work/logger.js';
import { createApp } from './app.js';
import { type Authenticator, createAuthenticator } from './auth.js';
import type { Config } from './config.js';
import type { AppEnv } from './context.js';
import type { DocsAssets } from './docs.js';

export interface Runtime extends Core {
  config: Config;
  auth: Authenticator;
  app: OpenAPIHono<AppEnv>;
  /** Tracing, hop spans, the span store and flow metrics. */
  telemetry: Telemetry;
  /** Live events for SSE subscribers (polls the event log while someone is subscribed). */
  eventFeed: EventFeed;
  /** The running policy set; replaced by PUT /v1/policies, SIGHUP and (in development) the file watch. */
  policies: PolicyHolder;
  /** flowmesh's own agents (the triage agent): they claim like any node; started by startBackground. */
  agents: AgentHost;
  /** Starts periodic maintenance (expired idempotency keys); returns nothing, stopped by close(). */
  startBackground(): void;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: Clock;
  logger?: Logger;
  /** An already opened store (tests hand in a per-file database). */
  store?: Store;
  /** A network instead of reading config.networkFile. */
  network?: Network;
  /** Rule files instead of reading config.policiesPath (tests; `[]` runs without rules). */
  policies?: PolicySource[];
  docsAssets?: DocsAssets;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const network = options.network ?? (await loadNetworkFile(config.networkFile));
  // A bad policy set stops the start here, before anything is opened, with every problem listed.
  const capabilities = new Set(network.capabilities.map((c) => c.id));
  const initialPolicies = options.policies
    ? await buildPolicySet(options.policies, { capabilities })
    : await loadPolicySet(config.policiesPath, { capabilities });
  const store =
    options.store ??
    (await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
    }));
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const auth = createAuthenticator({ store, clock, adminKey: config.adminKey });
  const policies = createPolicyHolder({
    initial: initialPolicies,
    path: options.policies ? undefined : config.policiesPath,
    capabilities,
    clock,
    logger,
  });
  const telemetry = createTelemetry({
    config: config.telemetry,
    store,
    clock,
    logger,
    isApproval: (capability) => policies.current().requiredCapabilities.has(capability),
  });
  const router = createRouter({
    // Policies take part in every routing decision from the first one (network sync, recovery).
    guard: policyRouteGuard(policies, clock),
    hops: telemetry.recorder,
    store,
    logger,
    network,
    settings: { publicUrl: config.publicUrl ?? `http://localhost:${config.port}` },
  });
  const core: Core = { store, clock, logger, network, router, idempotencyTtlMs: config.idempotencyTtlMs };
  await syncNetwork(core, network);
  if (network.valueStreams.length > 0) {
    // Multi-step kinds run as LangGraph threads checkpointed in the store: a new process takes every
    // open streamed item on from its last checkpoint before it serves anything.
    const streams = createValueStreamDriver(core, network.valueStreams);
    router.streams = streams;
    await streams.recover();
  }
  const agents = createAgentHost(core, await builtInAgents(network, telemetry.tracer));
  const eventFeed = createEventFeed({ store, clock, logger });
  const app = createApp({
    core,
    auth,
    telemetry,
    bodyLimit: config.bodyLimit,
    docsAssets: options.docsAssets,
    allowedOrigins: config.allowedOrigins,
    eventFeed,
    policies: {
      policies,
      nodes: () => router.registry.nodes(),
      clock,
      decisions: (principal, id) => listWorkItemDecisions(core, principal, id),
    },
  });
  const timers: ReturnType<typeof setInterval>[] = [];
  let routerBackground: RouterBackground | undefined;

  let escalationBackground: EscalationBackground | undefined;

  return {
    ...core,
    config,
    auth,
    app,
    telemetry,
    eventFeed,
    policies,
    agents,
    startBackground() {
      // Escalation detectors and webhook deliveries, each under its own advisory lock.
      escalationBackground ??= startEscalationBackground(core);
      agents.start();
      // Push agents with an MCP server get their steps as tool calls; other push nodes as webhooks.
      routerBackground ??= startRouterBackground(core, { transport: mcpPushTransport() });
      const sweep = async () => {
        try {
          const n = await deleteExpiredIdempotencyKeys(store.db, clock.now());
          if (n > 0) logger.debug('expired idempotency keys deleted', { count: n });
        } catch (error) {
          logger.warn('idempotency key sweep failed', { error: String(error) });
        }
      };
      const timer = setInterval(sweep, 10 * 60 * 1000);
      timer.unref?.();
      timers.push(timer);
      const sweepSpans = async () => {
        try {
          const n = await telemetry.sweep();
          if (n > 0) logger.debug('spans past retention deleted', { count: n });
        } catch (error) {
          logger.warn('span retention sweep failed', { error: String(error) });
        }
      };
      const spanTimer = setInterval(sweepSpans, 60 * 60 * 1000);
      spanTimer.unref?.();
      timers.push(spanTimer);
    },
    async close() {
      await escalationBackground?.stop();
      await agents.stop();
      await routerBackground?.stop();
      for (const t of timers) clearInterval(t);
      await router.claims.drain();
      await router.submissions.drain();
      await router.completions.drain();
      await router.outcomes.close();
      await router.wakeups.close();
      eventFeed.close();
      await telemetry.shutdown();
      await store.close();
    },
  };
}
