// All time goes through a Clock so tests can move time instead of sleeping.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to; for tests and simulations. */
export interface ManualClock extends Clock {
  set(at: Date | string): void;
  advance(ms: number): Date;
}

export function manualClock(start: Date | string = '2026-01-05T09:00:00.000Z'): ManualClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set(at) {
      current = new Date(at).getTime();
    },
    advance(ms) {
      current += ms;
      return new Date(current);
    },
  };
}
