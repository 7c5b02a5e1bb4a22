// The running policy set of a process, and how it is replaced. A replacement is compiled as a whole
// first; if it has any problem the running set stays and the problems are returned.
import type { Clock } from '../work/clock.js';
import type { Logger } from '../work/logger.js';
import { type CompileOptions, compilePolicySet, type PolicyProblem, type PolicySource } from './compile.js';
import { readPolicySources } from './load.js';
import { type PolicySet, policySet } from './policy-set.js';

export type ReloadTrigger = 'api' | 'signal' | 'watch' | 'start';

export type ReloadOutcome =
  | { ok: true; version: string; previousVersion: string; changed: boolean }
  | { ok: false; problems: PolicyProblem[]; runningVersion: string };

export interface ReloadStatus {
  at: string;
  trigger: ReloadTrigger;
  ok: boolean;
  version: string;
  problems: PolicyProblem[];
}

export interface PolicyHolder {
  /** The running set; read it once per decision so a decision uses one version throughout. */
  current(): PolicySet;
  /** Where the rule files are read from (undefined when the set was handed in). */
  readonly path: string | undefined;
  replace(sources: readonly PolicySource[], trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /** Reads the files at `path` again and replaces the set if they are valid. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /** The last replacement attempt, failed or not. */
  lastReload(): ReloadStatus | undefined;
}

export interface PolicyHolderOptions extends CompileOptions {
  initial: PolicySet;
  path?: string | undefined;
  clock: Clock;
  logger: Logger;
}

export function createPolicyHolder(options: PolicyHolderOptions): PolicyHolder {
  let running = options.initial;
  let last: ReloadStatus | undefined;
  // Replacements run one after another, so two reloads never race to install an older set.
  let queue: Promise<unknown> = Promise.resolve();

  async function install(sources: readonly PolicySource[], trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const outcome = await compilePolicySet(sources, options);
    const at = options.clock.now().toISOString();
    if (!outcome.ok) {
      last = { at, trigger, ok: false, version: running.version, problems: outcome.problems };
      options.logger.warn('policy reload refused; the running set stays', {
        trigger,
        version: running.version,
        problems: outcome.problems.length,
      });
      return { ok: false, problems: outcome.problems, runningVersion: running.version };
    }
    const previousVersion = running.version;
    running = policySet(outcome.set);
    last = { at, trigger, ok: true, version: running.version, problems: [] };
    options.logger.info('policy set loaded', { trigger, version: running.version, previousVersion });
    return {
      ok: true,
      version: running.version,
      previousVersion,
      changed: previousVersion !== running.version,
    };
  }

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  }

  return {
    current: () => running,
    path: options.path,
    replace: (sources, trigger) => serial(() => install(sources, trigger)),
    reload: (trigger) =>
      serial(async () => {
        if (!options.path) {
          return {
            ok: false as const,
            runningVersion: running.version,
            problems: [
              {
                file: '(none)',
                ruleId: null,
                field: null,
                line: 1,
                column: 1,
                reason: 'no policy path to reload from',
              },
            ],
          };
        }
        let sources: PolicySource[];
        try {
          sources = await readPolicySources(options.path);
        } catch (error) {
          const problems = [
            {
              file: options.path,
              ruleId: null,
              field: null,
              line: 1,
              column: 1,
              reason: (error as Error).message,
            },
          ];
          last = {
            at: options.clock.now().toISOString(),
            trigger,
            ok: false,
            version: running.version,
            problems,
          };
          return { ok: false as const, problems, runningVersion: running.version };
        }
        return install(sources, trigger);
      }),
    lastReload: () => last,
  };
}
