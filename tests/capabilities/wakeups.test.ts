import { describe, expect, it } from 'vitest';
import { createWakeups } from '../../capabilities/wakeups.js';
import type { Store } from '../../store/database.js';
import type { Logger } from '../../work/logger.js';

// PGlite's kind: wake-ups stay in the process (no LISTEN, no NOTIFY), which is all these tests need.
const store = { kind: 'pglite' } as Store;
const logger = { warn() {} } as unknown as Logger;

describe('wake-ups', () => {
  it('moves the mark of a capability when work for it is queued, and only then', () => {
    const w = createWakeups({ store, logger });
    const review = w.mark(['doc.review']);
    const both = w.mark(['doc.review', 'doc.publish']);
    w.queued(['doc.publish']);
    expect(w.mark(['doc.review'])).toBe(review);
    expect(w.mark(['doc.review', 'doc.publish'])).not.toBe(both);
    w.queued(['doc.review']);
    expect(w.mark(['doc.review'])).not.toBe(review);
  });

  it('answers a wait at once when its mark has moved, without waiting out the time', async () => {
    const w = createWakeups({ store, logger });
    const since = w.mark(['doc.review']);
    w.queued(['doc.review']);
    const started = performance.now();
    expect(await w.wait(['doc.review'], 60_000, undefined, since)).toBe('woken');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('waits with a current mark until work for one of its capabilities is queued', async () => {
    const w = createWakeups({ store, logger });
    const since = w.mark(['doc.review']);
    const waiting = w.wait(['doc.review'], 60_000, undefined, since);
    let answered = false;
    void waiting.then(() => {
      answered = true;
    });
    w.queued(['doc.publish']);
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    w.queued(['doc.review']);
    expect(await waiting).toBe('woken');
  });

  it('times out when nothing is queued, and ends early on abort', async () => {
    const w = createWakeups({ store, logger });
    expect(await w.wait(['doc.review'], 20, undefined, w.mark(['doc.review']))).toBe('timeout');
    const abort = new AbortController();
    const waiting = w.wait(['doc.review'], 60_000, abort.signal, w.mark(['doc.review']));
    abort.abort();
    expect(await waiting).toBe('timeout');
  });
});
