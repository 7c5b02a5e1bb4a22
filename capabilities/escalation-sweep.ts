// The escalation side of the sweeper: detectors and the webhook worker on timers, never overlapping
// themselves. Each run takes its own advisory lock, so with many instances one does the work.
import type { Core } from './core.js';
import { type DetectorOptions, runDetectors } from './escalation-detectors.js';
import { runWebhookWorker, type WebhookWorkerOptions } from './webhook-delivery.js';

export interface EscalationBackgroundOptions {
  detectorsEveryMs?: number;
  webhooksEveryMs?: number;
  detectors?: DetectorOptions;
  webhooks?: WebhookWorkerOptions;
}

export interface EscalationBackground {
  stop(): Promise<void>;
}

export function startEscalationBackground(
  core: Core,
  options: EscalationBackgroundOptions = {},
): EscalationBackground {
  const running = new Set<Promise<unknown>>();
  const timers: ReturnType<typeof setInterval>[] = [];
  const every = (ms: number, name: string, run: () => Promise<unknown>) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const p = run()
        .catch((error) => core.logger.warn(`${name} failed`, { error: String(error) }))
        .finally(() => {
          busy = false;
          running.delete(p);
        });
      running.add(p);
    }, ms);
    timer.unref?.();
    timers.push(timer);
  };
  every(options.detectorsEveryMs ?? 30_000, 'escalation detectors', () =>
    runDetectors(core, options.detectors),
  );
  every(options.webhooksEveryMs ?? 2_000, 'webhook worker', () => runWebhookWorker(core, options.webhooks));
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...running]);
    },
  };
}
