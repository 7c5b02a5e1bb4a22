// The value stream of a kind aggregated in SQL from the step visits, for large windows (100,000 items
// and more): the same numbers telemetry/item-paths.ts and telemetry/value-stream.ts compute from span
// rows in memory.
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
  // One row per step visit (step_visits) and per item (span_items), both kept up to date as spans are
  // written, with each visit's place in its item's path: no window over items here, only groups and
  // percentiles per step. The visits join the items of the window directly (not through the CTE `i`),
  // so the planner hashes the smaller side. Sorts get room to stay in memory.
  const [row] = await store.transaction(async (tx) => {
    await store.rows(sql`set local work_mem = '256MB'`, tx);
    // Compiling this one-off statement costs more than it saves.
    await store.rows(sql`set local jit = off`, tx);
    return store.rows<{ facts: unknown }>(
      sql`
    with i as (
      select work_item_id, start_at, end_state, end_at from span_items
      where kind = ${kind}
        and start_at >= ${from.toISOString()}::timestamptz and start_at < ${to.toISOString()}::timestamptz
    ),
    v as (
      select sv.capability, sv.wait_ms, sv.work_ms + sv.agent_work_ms as work_total, sv.workers,
        sv.worker_kinds, sv.prev_capability, sv.prev_handed_off, sv.seen_before, sv.last_visit,
        i.end_state as item_state
      from step_visits sv join span_items i on i.work_item_id = sv.work_item_id
      where sv.kind = ${kind} and sv.capability is not null and i.kind = ${kind}
        and i.start_at >= ${from.toISOString()}::timestamptz and i.start_at < ${to.toISOString()}::timestamptz
    ),
    step_stats as (
      select capability, count(*) as visits,
        json_build_object('n', count(*), 'total', sum(wait_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by wait_ms)) as wait,
        json_build_object('n', count(*), 'total', sum(work_total),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by work_total)) as work
      from v group by capability
    ),
    node_stats as (
      -- Most visits have one work hop: group those as they are, unnest only the visits with several.
      select capability, node_id, min(nullif(node_kind, '')) as node_kind, sum(n) as n
      from (
        select capability, workers[1] as node_id, min(worker_kinds[1]) as node_kind, count(*) as n
        from v where cardinality(workers) = 1 group by 1, 2
        union all
        select v.capability, w.node_id, w.node_kind, 1
        from v cross join lateral unnest(v.workers, v.worker_kinds) as w(node_id, node_kind)
        where cardinality(v.workers) > 1
      ) w
      group by capability, node_id
    ),
    edge_stats as (
      select coalesce(prev_capability, 'start') as from_node, capability as to_node, count(*) as n,
        count(*) filter (where not seen_before and prev_handed_off) as handoffs,
        count(*) filter (where seen_before) as rework
      from v group by 1, 2
      union all
      select capability, item_state, count(*), 0, 0
      from v where last_visit and item_state is not null
      group by 1, 2
    ),
    done_items as (
      select extract(epoch from (end_at - start_at)) * 1000 as lead_ms
      from i where end_state = 'done'
    )
    select json_build_object(
      'started', (select count(*) from i),
      'done', (select count(*) from done_items),
      'steps', (select coalesce(json_agg(json_build_object('capability', capability, 'visits', visits,
          'wait', wait, 'work', work)), '[]'::json) from step_stats),
      'nodes', (select coalesce(json_agg(json_build_object('capability', capability, 'nodeId', node_id,
          'nodeKind', node_kind, 'count', n)), '[]'::json) from node_stats),
      'edges', (select coalesce(json_agg(json_build_object('from', from_node, 'to', to_node, 'count', n,
          'handoffs', handoffs, 'rework', rework)), '[]'::json) from edge_stats),
      'lead', (select json_build_object('n', count(*), 'total', sum(lead_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by lead_ms)) from done_items),
      'workOfDone', (select coalesce(sum(work_total), 0) from v where item_state = 'done')
    ) as facts`,
      tx,
    );
  });
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
