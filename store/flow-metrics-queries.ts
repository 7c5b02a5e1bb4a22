// Flow metrics aggregated in SQL over the span store for a window, grouped by kind, capability or node.
// Each row: how many units finished (items, step visits or work hops), their flow-time percentiles
// (percentile_disc), and the work and total time that make up flow efficiency.
import { sql } from 'drizzle-orm';
import type { Store } from './database.js';

export type FlowGroupBy = 'kind' | 'capability' | 'node';

export interface FlowGroupRow {
  key: string;
  finished: number;
  p50: number;
  p85: number;
  p95: number;
  workMs: number;
  flowMs: number;
}

export async function aggregateFlow(
  store: Store,
  groupBy: FlowGroupBy,
  from: Date,
  to: Date,
): Promise<FlowGroupRow[]> {
  const f = from.toISOString();
  const t = to.toISOString();
  let query: ReturnType<typeof sql>;
  if (groupBy === 'kind') {
    query = sql`
      with done as (
        select i.work_item_id, i.kind, extract(epoch from (i.end_at - i.start_at)) * 1000 as lead_ms
        from spans i
        where i.source = 'item' and i.outcome = 'done' and i.end_at >= ${f}::timestamptz and i.end_at < ${t}::timestamptz
      ), work as (
        select h.work_item_id, sum(h.duration_ms) as ms from spans h join done d on d.work_item_id = h.work_item_id
        where h.source = 'hop' and h.hop in ('work', 'approval') group by h.work_item_id
      )
      select d.kind as key, count(*) as finished,
        percentile_disc(array[0.5, 0.85, 0.95]) within group (order by d.lead_ms) as p,
        coalesce(sum(w.ms), 0) as work_ms, sum(d.lead_ms) as flow_ms
      from done d left join work w on w.work_item_id = d.work_item_id group by d.kind order by d.kind`;
  } else if (groupBy === 'capability') {
    query = sql`
      with visit as (
        select step_id, min(capability) as capability, max(end_at) as ended,
          coalesce(sum(duration_ms) filter (where hop in ('work', 'approval')), 0) as work_ms,
          coalesce(sum(duration_ms) filter (where hop in ('wait', 'work', 'approval')), 0) as flow_ms,
          bool_or(hop in ('work', 'approval') and outcome in ('completed', 'handed_off', 'approved', 'rejected')) as finished
        from spans where source = 'hop' and step_id is not null group by step_id
      )
      select capability as key, count(*) as finished,
        percentile_disc(array[0.5, 0.85, 0.95]) within group (order by flow_ms) as p,
        sum(work_ms) as work_ms, sum(flow_ms) as flow_ms
      from visit where finished and ended >= ${f}::timestamptz and ended < ${t}::timestamptz and capability is not null
      group by capability order by capability`;
  } else {
    query = sql`
      select node_id as key, count(*) as finished,
        percentile_disc(array[0.5, 0.85, 0.95]) within group (order by duration_ms) as p,
        sum(duration_ms) as work_ms, sum(duration_ms) as flow_ms
      from spans
      where source = 'hop' and hop in ('work', 'approval') and node_id is not null
        and end_at >= ${f}::timestamptz and end_at < ${t}::timestamptz
      group by node_id order by node_id`;
  }
  const rows = await store.rows<{
    key: string;
    finished: number | string;
    p: (number | string)[] | string | null;
    work_ms: number | string | null;
    flow_ms: number | string | null;
  }>(query);
  return rows.map((r) => {
    const p = typeof r.p === 'string' ? r.p.replace(/[{}]/g, '').split(',') : (r.p ?? []);
    return {
      key: r.key,
      finished: Number(r.finished),
      p50: Number(p[0] ?? 0),
      p85: Number(p[1] ?? 0),
      p95: Number(p[2] ?? 0),
      workMs: Number(r.work_ms ?? 0),
      flowMs: Number(r.flow_ms ?? 0),
    };
  });
}

/** Busy time per node inside [from, to): work hops clipped to the window. */
export async function nodeBusyTime(store: Store, from: Date, to: Date): Promise<Map<string, number>> {
  const f = from.toISOString();
  const t = to.toISOString();
  const rows = await store.rows<{ node_id: string; busy_ms: number | string }>(sql`
    select node_id, sum(extract(epoch from (least(end_at, ${t}::timestamptz) - greatest(start_at, ${f}::timestamptz))) * 1000) as busy_ms
    from spans
    where source = 'hop' and hop in ('work', 'approval') and node_id is not null
      and end_at > ${f}::timestamptz and start_at < ${t}::timestamptz
    group by node_id`);
  return new Map(rows.map((r) => [r.node_id, Number(r.busy_ms)]));
}
