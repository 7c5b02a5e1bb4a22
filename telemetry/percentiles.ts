// Nearest-rank percentiles: the smallest value with at least q of the values at or below it.
// The same definition as PostgreSQL's percentile_disc, so the SQL and the TypeScript paths agree.

export interface Percentiles {
  p50: number;
  p85: number;
  p95: number;
}

export interface Distribution extends Percentiles {
  count: number;
  totalMs: number;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  let total = 0;
  for (const v of sorted) total += v;
  return {
    count: sorted.length,
    totalMs: total,
    p50: percentile(sorted, 0.5),
    p85: percentile(sorted, 0.85),
    p95: percentile(sorted, 0.95),
  };
}
