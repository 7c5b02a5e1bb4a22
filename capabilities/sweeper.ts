// Recovery, run periodically by one instance at a time (advisory lock): expired leases go back to
// the queue with attempt + 1 (or fail past maxAttempts, with an escalation), the circuit breaker
// opens for nodes failing too often and closes after the cool-down, and fallback tiers open for
// steps that waited past their threshold. Tests call runSweep directly with a manual clock.
import { listHealth, setTripped } from '../store/network.js';
import { lockExpiredLeases, type StepWithItem, trySweepLock } from '../store/router.js';
import type { Core } from './core.js';
import { type FailureResult, failHeldStep, publishFailure } from './leases.js';
import { refreshRegistry } from './network.js';
import { publishReroute, type RerouteOutcome, rerouteQueued } from './reroute.js';

export interface SweepReport {
  /** False when another instance holds the sweeper's lock. */
  ran: boolean;
  requeued: number;
  failed: number;
  tripped: string[];
  recovered: string[];
  widened: number;
  rerouted: number;
}

const BATCH = 500;

export async function runSweep(core: Core): Promise<SweepReport> {
  const report: SweepReport = {
    ran: false,
    requeued: 0,
    failed: 0,
    tripped: [],
    recovered: [],
    widened: 0,
    rerouted: 0,
  };
  // Other instances may have changed nodes or the breaker: start from the database's view, with this
  // instance's completions counted.
  await core.router.outcomes.flush();
  await refreshRegistry(core);
  const failures: { held: StepWithItem; result: FailureResult }[] = [];
  const reroutes: RerouteOutcome[] = [];
  const registry = core.router.registry;
  const settings = core.router.settings;
  await core.store.transaction(async (tx) => {
    if (!(await trySweepLock(core.store, tx))) return;
    report.ran = true;
    const now = core.clock.now();

    // 1. Expired leases.
    for (;;) {
      const expired = await lockExpiredLeases(core.store, tx, now, BATCH);
      for (const held of expired) {
        const result = await failHeldStep(
          core,
          tx,
          held,
          {
            reason: `lease expired at ${held.step.leaseExpiresAt?.toISOString()}`,
            retryable: true,
            cause: 'lease_expired',
          },
          now,
        );
        failures.push({ held, result });
        if (result.requeued) report.requeued++;
        else report.failed++;
      }
      if (expired.length < BATCH) break;
    }

    // 2. Circuit breaker.
    const changedCaps = new Set<string>();
    for (const h of await listHealth(core.store, tx)) {
      const node = registry.node(h.nodeId);
      if (!node) continue;
      const total = h.successes + h.failures;
      const open = h.trippedUntil !== null && h.trippedUntil > now;
      if (h.trippedUntil !== null && !open) {
        await setTripped(core.store, tx, h.nodeId, null, now);
        registry.setTripped(h.nodeId, null);
        report.recovered.push(h.nodeId);
        for (const c of registry.claimable(h.nodeId)) changedCaps.add(c);
      } else if (
        !open &&
        total >= settings.breakerMinSamples &&
        h.failures / total >= settings.breakerFailureRate &&
        h.windowStartedAt.getTime() > now.getTime() - settings.breakerWindowSeconds * 1000
      ) {
        const until = new Date(now.getTime() + settings.breakerCooldownSeconds * 1000);
        await setTripped(core.store, tx, h.nodeId, until, now);
        registry.setTripped(h.nodeId, until);
        report.tripped.push(h.nodeId);
        for (const c of registry.claimable(h.nodeId)) changedCaps.add(c);
      }
    }
    if (changedCaps.size > 0) {
      const out = await rerouteQueued(core, tx, { capabilities: [...changedCaps] });
      report.rerouted += out.changed;
      reroutes.push(out);
    }

    // 3. Fallback tiers: steps that waited past a threshold get the next tier's nodes too.
    for (const cap of registry.capabilities()) {
      for (let k = 0; k < cap.fallbacks.length; k++) {
        const after = cap.fallbacks[k]?.afterSeconds ?? 0;
        const out = await rerouteQueued(core, tx, {
          capabilities: [cap.id],
          maxQueuedAt: new Date(now.getTime() - after * 1000),
          openTier: k + 1,
        });
        report.widened += out.widened;
        report.rerouted += out.changed;
        reroutes.push(out);
      }
    }
  });
  for (const f of failures) publishFailure(core, f.held, f.result);
  for (const r of reroutes) publishReroute(core, r);
  if (report.tripped.length || report.failed || report.requeued) {
    core.logger.info('sweep', { ...report });
  }
  return report;
}
