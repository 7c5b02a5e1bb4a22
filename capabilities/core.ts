// What core functions need from the runtime. The runtime (built once at start) satisfies it.
import type { Store } from '../store/database.js';
import type { Clock } from '../work/clock.js';
import type { Logger } from '../work/logger.js';
import type { Network } from './network-schema.js';

export interface Core {
  store: Store;
  clock: Clock;
  logger: Logger;
  network: Network;
  /** How long idempotency keys are kept. */
  idempotencyTtlMs: number;
}
