// When a gap in the event log's ids may be skipped. The transaction that took the missing id either
// commits (the row appears) or rolls back (it never does); a reader must not move past the gap while
// the first is possible, however long that transaction runs.
//
// On PostgreSQL a gap is judged with transaction ids, from the snapshot the rows were read in (one
// statement reads both, see readEventLogPage). The transaction that took the id had started when the
// gap was first seen, but the statement that took it may not have been given its transaction id yet
// (an insert takes the id, then the transaction id, when it is the transaction's first write). So the
// gap is seen again after a short grace, by when that statement has long finished: the transaction's
// id is below the xmax of that sighting's snapshot. Once a snapshot's oldest running transaction (xmin)
// is at or past that xmax, the transaction had ended before the snapshot: if the row is missing from
// that snapshot's rows, it rolled back. (A horizon read after the rows would not do: the transaction
// may commit in between, and its row would be passed over for good.)
// PGlite has one connection: nothing is in flight while the log is read, so every gap is a rollback.
import type { Store } from '../store/database.js';
import type { TransactionHorizon } from '../store/event-log.js';
import type { Clock } from '../work/clock.js';
import { gapsBefore, type LogRow, safePrefix } from '../work/event-horizon.js';

/** The least time a gap is waited for, whatever the transaction ids say. */
export const GAP_MIN_GRACE_MS = 1_000;

export interface GapJudge {
  /**
   * The rows (ordered by id, ids > `from`) that may be handed out now; `horizon` is the transaction
   * horizon of the snapshot the rows were read in.
   */
  safeRows<T extends LogRow>(rows: readonly T[], from: number, horizon: TransactionHorizon): T[];
}

export function createGapJudge(deps: { kind: Store['kind']; clock: Clock; minGraceMs?: number }): GapJudge {
  const { kind, clock } = deps;
  const minGraceMs = deps.minGraceMs ?? GAP_MIN_GRACE_MS;
  /**
   * Gaps seen: first missing id → when first seen; the xmax of the first sighting after the grace
   * (undefined until then); whether the gap was judged a rollback.
   */
  const seen = new Map<number, { at: number; xmax: bigint | undefined; settled: boolean }>();
  return {
    safeRows(rows, from, horizon) {
      if (kind === 'pglite') return safePrefix(rows, from, () => true);
      const gaps = gapsBefore(rows, from);
      if (gaps.length === 0) return [...rows];
      if (gaps.every((gap) => seen.get(gap)?.settled)) return [...rows];
      const now = clock.now().getTime();
      for (const gap of gaps) {
        const first = seen.get(gap);
        if (!first) {
          seen.set(gap, { at: now, xmax: undefined, settled: false });
          break;
        }
        if (first.settled) continue;
        if (now - first.at < minGraceMs) break;
        first.xmax ??= horizon.xmax;
        if (horizon.xmin < first.xmax) break;
        first.settled = true;
      }
      // Readers share this memory (the live feed, webhook fan-out): keep the newest gaps only.
      if (seen.size > 10_000) {
        for (const id of [...seen.keys()].slice(0, 5_000)) seen.delete(id);
      }
      return safePrefix(rows, from, (gap) => seen.get(gap)?.settled === true);
    },
  };
}

const judges = new WeakMap<Store, GapJudge>();

/** The process's gap judge for a store (its memory of gaps seen is shared by every reader). */
export function gapJudgeFor(store: Store, clock: Clock): GapJudge {
  let judge = judges.get(store);
  if (!judge) {
    judge = createGapJudge({ kind: store.kind, clock });
    judges.set(store, judge);
  }
  return judge;
}
