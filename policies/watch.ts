// Development convenience: reload the policy set when a rule file changes. Changes are debounced, so
// an editor's write-rename-write is one reload; a failed reload keeps the running set (see holder.ts).
import { type FSWatcher, watch } from 'node:fs';
import type { Logger } from '../work/logger.js';
import type { PolicyHolder, ReloadOutcome } from './holder.js';

export interface PolicyWatch {
  close(): void;
}

export function watchPolicies(
  holder: PolicyHolder,
  logger: Logger,
  options: { debounceMs?: number; onReload?: (outcome: ReloadOutcome) => void } = {},
): PolicyWatch {
  const path = holder.path;
  if (!path) return { close() {} };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = undefined;
      const outcome = await holder.reload('watch');
      if (!outcome.ok) {
        logger.warn('policy files changed but do not load; the running set stays', {
          version: outcome.runningVersion,
          problems: outcome.problems.map(
            (p) => `${p.file}:${p.line}:${p.column} ${p.ruleId ?? ''} ${p.reason}`,
          ),
        });
      }
      options.onReload?.(outcome);
    }, options.debounceMs ?? 200);
    timer.unref?.();
  };
  try {
    watcher = watch(path, { persistent: false }, (_event, name) => {
      if (!name || /\.ya?ml$/.test(String(name))) schedule();
    });
  } catch (error) {
    logger.warn('cannot watch the policy files; reload with SIGHUP instead', { path, error: String(error) });
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
