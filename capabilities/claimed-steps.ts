// The steps this instance handed out under a lease, with their items, so that the completion of a
// claim made here can decide and write in one statement without reading the item first. Only a
// shortcut: the write checks the lease on the row, and a miss (a claim made by another instance, an
// entry evicted) reads the item instead. Bounded: the oldest entries go first.
import type { StepWithItem } from '../store/router.js';

export interface ClaimedSteps {
  remember(claimed: StepWithItem): void;
  /** The claim with this step and lease token, removed from memory; undefined when not held here. */
  take(stepId: string, leaseToken: string): StepWithItem | undefined;
  forget(stepId: string): void;
  size(): number;
}

export function createClaimedSteps(max = 2000): ClaimedSteps {
  const held = new Map<string, StepWithItem>();
  return {
    remember(claimed) {
      held.delete(claimed.step.id);
      held.set(claimed.step.id, claimed);
      if (held.size > max) {
        const oldest = held.keys().next().value;
        if (oldest !== undefined) held.delete(oldest);
      }
    },
    take(stepId, leaseToken) {
      const claimed = held.get(stepId);
      if (claimed?.step.leaseToken !== leaseToken) return undefined;
      held.delete(stepId);
      return claimed;
    },
    forget(stepId) {
      held.delete(stepId);
    },
    size: () => held.size,
  };
}
