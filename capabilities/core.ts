// What core functions need from the runtime. The runtime (built once at start) satisfies it.
import type { CompletionWrite, CompletionWritten } from '../store/completion.js';
import type { Store } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { SubmissionRows } from '../store/work-items.js';
import type { Clock } from '../work/clock.js';
import type { Logger } from '../work/logger.js';
import type { ClaimBatches } from './claim-batches.js';
import type { ClaimedSteps } from './claimed-steps.js';
import type { HopRecorder, RouteGuard } from './hooks.js';
import type { Network } from './network-schema.js';
import type { NodeOutcomes } from './node-outcomes.js';
import type { Registry } from './registry.js';
import type { StreamHook } from './value-streams.js';
import type { Wakeups } from './wakeups.js';

export interface RouterSettings {
  /** Circuit breaker: outcomes are counted in fixed windows of this length. */
  breakerWindowSeconds: number;
  /** … and a node is judged only with at least this many outcomes in the window, */
  breakerMinSamples: number;
  /** … tripping when failures / outcomes reach this rate, */
  breakerFailureRate: number;
  /** … for this long. */
  breakerCooldownSeconds: number;
  /** Base URL push nodes call back to (`<publicUrl>/v1/work-items/:id/complete`). */
  publicUrl: string;
  /** Longest long-poll a claim may ask for. */
  maxClaimWaitSeconds: number;
}

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = {
  breakerWindowSeconds: 300,
  breakerMinSamples: 5,
  breakerFailureRate: 0.5,
  breakerCooldownSeconds: 120,
  publicUrl: 'http://localhost:3000',
  maxClaimWaitSeconds: 60,
};

/** The router's parts. `guard` and `hops` may be replaced at run time (policy reload, telemetry start). */
export interface Router {
  registry: Registry;
  guard: RouteGuard;
  hops: HopRecorder;
  wakeups: Wakeups;
  /** Claims this instance handed out, so their completions need not read the item first. */
  claimed: ClaimedSteps;
  /** Claims of one node made together when they arrive together (one statement per batch). */
  claims: ClaimBatches;
  /** New items' rows, written with the submissions that arrive beside them (group commit). */
  submissions: GroupCommit<SubmissionRows>;
  /** Completions without a policy gate, written with the ones that arrive beside them (group commit). */
  completions: GroupCommit<CompletionWrite, CompletionWritten>;
  /** Circuit-breaker outcomes, written in batches (the sweeper flushes them before judging nodes). */
  outcomes: NodeOutcomes;
  settings: RouterSettings;
  /** Value streams (multi-step kinds), when the runtime runs them; set once at start. */
  streams?: StreamHook | undefined;
}

export interface Core {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** The network file as loaded at start (capabilities are fixed; live nodes are in router.registry). */
  network: Network;
  router: Router;
  /** How long idempotency keys are kept. */
  idempotencyTtlMs: number;
}
