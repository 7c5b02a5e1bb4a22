// The router's background work in a long-running process: the sweeper on an interval, and push
// dispatch whenever steps are queued (plus on the interval, for leases the sweeper returned).
import type { Core } from './core.js';
import { createPushDispatcher, type PushTransport } from './push-dispatch.js';
import { runSweep } from './sweeper.js';

export interface RouterBackground {
  stop(): Promise<void>;
}

export function startRouterBackground(
  core: Core,
  options: { sweepIntervalMs?: number; transport?: PushTransport } = {},
): RouterBackground {
  const dispatcher = createPushDispatcher(core, options.transport ? { transport: options.transport } : {});
  let stopped = false;
  let dispatching: Promise<unknown> | undefined;
  let again = false;
  const dispatch = () => {
    if (stopped) return;
    if (dispatching) {
      again = true;
      return;
    }
    dispatching = dispatcher
      .dispatch()
      .catch((error: unknown) => core.logger.warn('push dispatch failed', { error: String(error) }))
      .finally(() => {
        dispatching = undefined;
        if (again) {
          again = false;
          dispatch();
        }
      });
  };
  const pushCaps = () =>
    new Set(
      core.router.registry
        .nodes()
        .filter((n) => n.mode === 'push')
        .flatMap((n) => core.router.registry.claimable(n.id)),
    );
  const unsubscribe = core.router.wakeups.subscribe((caps) => {
    const push = pushCaps();
    for (const c of caps) {
      if (push.has(c)) {
        dispatch();
        return;
      }
    }
  });
  let sweeping: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (stopped || sweeping) return;
    sweeping = runSweep(core)
      .catch((error: unknown) => core.logger.warn('sweep failed', { error: String(error) }))
      .finally(() => {
        sweeping = undefined;
        dispatch();
      });
  }, options.sweepIntervalMs ?? 5_000);
  timer.unref?.();
  dispatch();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await Promise.allSettled([sweeping, dispatching]);
    },
  };
}
