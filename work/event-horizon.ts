// Which events of the log are safe to hand out. Ids come from an identity sequence, so a transaction
// that took id 10 may commit after one that took id 11: a reader that moved past 11 would miss 10 for
// good. Readers therefore stop at the first gap until it fills, or until it is known that no
// transaction can still fill it (the one that took the id rolled back); see capabilities/log-gaps.ts.

export interface LogRow {
  id: number;
}

/** The first id of each gap among `rows` (ordered by id, all with id > `from`), in order. */
export function gapsBefore(rows: readonly LogRow[], from: number): number[] {
  const gaps: number[] = [];
  let expected = from + 1;
  for (const row of rows) {
    if (row.id !== expected) gaps.push(expected);
    expected = row.id + 1;
  }
  return gaps;
}

/**
 * The rows (ordered by id, all with id > `from`) that may be handed out now: every row up to the first
 * gap that is not `settled` (a gap is named by its first missing id).
 */
export function safePrefix<T extends LogRow>(
  rows: readonly T[],
  from: number,
  settled: (gap: number) => boolean,
): T[] {
  const accepted: T[] = [];
  let expected = from + 1;
  for (const row of rows) {
    if (row.id !== expected && !settled(expected)) break;
    accepted.push(row);
    expected = row.id + 1;
  }
  return accepted;
}
