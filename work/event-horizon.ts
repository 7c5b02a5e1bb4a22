// Which events of the log are safe to hand out. Ids come from an identity sequence, so a transaction
// that took id 10 may commit after one that took id 11: a reader that moved past 11 would miss 10 for
// good. Readers therefore stop at the first gap until it fills, or until the row after it is older
// than a grace period (the transaction that took the missing id rolled back).

export interface LogRow {
  id: number;
  at: Date;
}

/**
 * The rows (ordered by id, all with id > `from`) that may be handed out now: every row up to the first
 * gap that is younger than `graceMs`. With `graceMs` 0 (one connection, as on PGlite, where nothing is
 * in flight while we read) every gap counts as a rollback.
 */
export function safePrefix<T extends LogRow>(
  rows: readonly T[],
  from: number,
  now: Date,
  graceMs: number,
): T[] {
  const accepted: T[] = [];
  let expected = from + 1;
  for (const row of rows) {
    if (row.id !== expected && now.getTime() - row.at.getTime() < graceMs) break;
    accepted.push(row);
    expected = row.id + 1;
  }
  return accepted;
}

/**
 * A starting horizon from the newest rows of the log (ordered by id): the newest row older than the
 * grace period, below which no transaction can still be writing; the row before the oldest one
 * read when all are younger.
 */
export function initialHorizon(newest: readonly LogRow[], now: Date, graceMs: number): number {
  let horizon = (newest[0]?.id ?? 1) - 1;
  for (const row of newest) {
    if (now.getTime() - row.at.getTime() >= graceMs) horizon = row.id;
    else break;
  }
  return horizon;
}
