// The value stream of a kind aggregated in SQL, for large windows (100,000 items and more): the same
// numbers telemetry/item-paths.ts and telemetry/value-stream.ts compute from span rows in memory.
// Percentiles are percentile_disc (nearest rank), as in telemetry/percentiles.ts.
import { sql } from 'drizzle-orm';
import type { Store } from './database.js';

export interface SqlDistribution {
  count: number;
  totalMs: number;
  p50: number;
  p85: number;
  p95: number;
}

export interface SqlValueStreamFacts {
  started: number;
  done: number;
  steps: {
    capability: string;
    visits: number;
    wait: SqlDistribution;
    work: SqlDistribution;
    nodes: { nodeId: string; nodeKind: string | null; count: number }[];
  }[];
  edges: { from: string; to: string; count: number; handoffs: number; rework: number }[];
  lead: SqlDistribution;
  workOfDoneMs: number;
}

interface RawDist {
  n: number | string;
  total: number | string | null;
  p: (number | string)[] | null;
}

function dist(d: RawDist | null | undefined): SqlDistribution {
  const p = d?.p ?? [];
  return {
    count: Number(d?.n ?? 0),
    totalMs: Number(d?.total ?? 0),
    p50: Number(p[0] ?? 0),
    p85: Number(p[1] ?? 0),
    p95: Number(p[2] ?? 0),
  };
}

export async function aggregateValueStream(
  store: Store,
  kind: string,
  from: Date,
  to: Date,
): Promise<SqlValueStreamFacts> {
  const [row] = await store.rows<{ facts: unknown }>(sql`
    with scope as (
      select work_item_id, min(start_at) as start_at
      from spans
      where kind = ${kind} and source in ('hop', 'item') and work_item_id is not null
      group by work_item_id
      having min(start_at) >= ${from.toISOString()}::timestamptz and min(start_at) < ${to.toISOString()}::timestamptz
    ),
    item_end as (
      select i.work_item_id, i.outcome as end_state, s.start_at, i.end_at
      from scope s join spans i on i.work_item_id = s.work_item_id and i.source = 'item'
    ),
    visit as (
      select h.work_item_id, h.step_id, min(h.capability) as capability, min(h.start_at) as first_at,
        coalesce(sum(h.duration_ms) filter (where h.hop = 'wait'), 0) as wait_ms,
        coalesce(sum(h.duration_ms) filter (where h.hop in ('work', 'approval')), 0) as work_ms,
        bool_or(h.hop = 'handoff') as handed_off
      from spans h join scope s on s.work_item_id = h.work_item_id
      where h.source = 'hop' and h.step_id is not null
      group by h.work_item_id, h.step_id
      having min(h.capability) is not null
    ),
    agent_extra as (
      select a.step_id, sum(a.duration_ms) as ms
      from spans a join scope s on s.work_item_id = a.work_item_id
      where a.source = 'agent' and a.step_id is not null
        and not exists (select 1 from spans p
          where p.trace_id = a.trace_id and p.span_id = a.parent_span_id and p.source = 'agent')
        and not exists (select 1 from spans w
          where w.work_item_id = a.work_item_id and w.step_id = a.step_id and w.source = 'hop'
            and w.hop in ('work', 'approval') and w.start_at <= a.start_at and w.end_at >= a.end_at)
      group by a.step_id
    ),
    v as (
      select visit.work_item_id, visit.capability, visit.wait_ms,
        visit.work_ms + coalesce(ae.ms, 0) as work_ms,
        lag(visit.capability) over w as prev_cap,
        lag(visit.handed_off) over w as prev_handed_off,
        count(*) over (partition by visit.work_item_id, visit.capability order by visit.first_at, visit.step_id
          rows unbounded preceding) as nth,
        row_number() over (partition by visit.work_item_id order by visit.first_at desc, visit.step_id desc) as from_end
      from visit left join agent_extra ae on ae.step_id = visit.step_id
      window w as (partition by visit.work_item_id order by visit.first_at, visit.step_id)
    ),
    step_stats as (
      select capability, count(*) as visits,
        json_build_object('n', count(*), 'total', sum(wait_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by wait_ms)) as wait,
        json_build_object('n', count(*), 'total', sum(work_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by work_ms)) as work
      from v group by capability
    ),
    node_stats as (
      select h.capability, h.node_id, min(h.node_kind) as node_kind, count(*) as n
      from spans h join scope s on s.work_item_id = h.work_item_id
      where h.source = 'hop' and h.hop in ('work', 'approval') and h.step_id is not null and h.node_id is not null
      group by h.capability, h.node_id
    ),
    edge_stats as (
      select coalesce(prev_cap, 'start') as from_node, capability as to_node, count(*) as n,
        count(*) filter (where nth = 1 and coalesce(prev_handed_off, false)) as handoffs,
        count(*) filter (where nth > 1) as rework
      from v group by 1, 2
      union all
      select coalesce(last.capability, 'start'), e.end_state, count(*), 0, 0
      from item_end e left join v last on last.work_item_id = e.work_item_id and last.from_end = 1
      where e.end_state is not null
      group by 1, 2
    ),
    done_items as (
      select work_item_id, extract(epoch from (end_at - start_at)) * 1000 as lead_ms
      from item_end where end_state = 'done'
    )
    select json_build_object(
      'started', (select count(*) from scope),
      'done', (select count(*) from done_items),
      'steps', (select coalesce(json_agg(json_build_object('capability', capability, 'visits', visits,
          'wait', wait, 'work', work)), '[]'::json) from step_stats),
      'nodes', (select coalesce(json_agg(json_build_object('capability', capability, 'nodeId', node_id,
          'nodeKind', node_kind, 'count', n)), '[]'::json) from node_stats),
      'edges', (select coalesce(json_agg(json_build_object('from', from_node, 'to', to_node, 'count', n,
          'handoffs', handoffs, 'rework', rework)), '[]'::json) from edge_stats),
      'lead', (select json_build_object('n', count(*), 'total', sum(lead_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by lead_ms)) from done_items),
      'workOfDone', (select coalesce(sum(v.work_ms), 0) from v join done_items d on d.work_item_id = v.work_item_id)
    ) as facts`);
  const raw = (typeof row?.facts === 'string' ? JSON.parse(row.facts) : row?.facts) as {
    started: number | string;
    done: number | string;
    steps: { capability: string; visits: number | string; wait: RawDist; work: RawDist }[];
    nodes: { capability: string; nodeId: string; nodeKind: string | null; count: number | string }[];
    edges: {
      from: string;
      to: string;
      count: number | string;
      handoffs: number | string;
      rework: number | string;
    }[];
    lead: RawDist;
    workOfDone: number | string;
  };
  return {
    started: Number(raw.started),
    done: Number(raw.done),
    steps: raw.steps.map((s) => ({
      capability: s.capability,
      visits: Number(s.visits),
      wait: dist(s.wait),
      work: dist(s.work),
      nodes: raw.nodes
        .filter((n) => n.capability === s.capability)
        .map((n) => ({ nodeId: n.nodeId, nodeKind: n.nodeKind, count: Number(n.count) })),
    })),
    edges: raw.edges.map((e) => ({
      from: e.from,
      to: e.to,
      count: Number(e.count),
      handoffs: Number(e.handoffs),
      rework: Number(e.rework),
    })),
    lead: dist(raw.lead),
    workOfDoneMs: Number(raw.workOfDone),
  };
}
