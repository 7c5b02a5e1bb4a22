// The realized value stream of a kind: facts aggregated from item paths (or by SQL, same shape),
// then the map: steps with node shares, edges, percentiles, flow efficiency, throughput, bottleneck.
import { type EdgeType, edgeTypes, type ItemPath } from './item-paths.js';
import { type Distribution, distribution } from './percentiles.js';

export const START = 'start';
/** Terminal map nodes: the item's end state. */
export const TERMINALS = ['done', 'failed', 'cancelled', 'rejected'] as const;

export interface StepFacts {
  capability: string;
  visits: number;
  wait: Distribution;
  work: Distribution;
  nodes: { nodeId: string; nodeKind: string | null; count: number }[];
}

export interface EdgeFacts {
  from: string;
  to: string;
  count: number;
  handoffs: number;
  rework: number;
}

/** Everything the map needs, aggregated; computed in TypeScript from spans or in SQL from the store. */
export interface ValueStreamFacts {
  kind: string;
  started: number;
  done: number;
  steps: StepFacts[];
  edges: EdgeFacts[];
  /** Lead time of the items that reached `done`. */
  lead: Distribution;
  /** Work time summed over the visits of the items that reached `done`. */
  workOfDoneMs: number;
}

export interface ValueStreamWindow {
  from: Date;
  to: Date;
}

export interface ValueStream {
  kind: string;
  from: string;
  to: string;
  items: { started: number; done: number; wip: number };
  steps: (Omit<StepFacts, 'nodes'> & {
    nodes: { nodeId: string; nodeKind: string | null; count: number; share: number }[];
    waitShare: number;
  })[];
  edges: (EdgeFacts & { type: EdgeType })[];
  leadTime: Distribution;
  /** Work time ÷ lead time over the items that reached `done`; null when none did. */
  flowEfficiency: number | null;
  throughput: { done: number; perDay: number };
  wip: number;
  bottleneck: { capability: string; waitShare: number; explanation: string } | null;
}

function edgeKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

/** Aggregates item paths of one kind into facts. */
export function factsFromPaths(kind: string, paths: readonly ItemPath[]): ValueStreamFacts {
  const steps = new Map<
    string,
    { wait: number[]; work: number[]; nodes: Map<string, StepFacts['nodes'][0]> }
  >();
  const edges = new Map<string, EdgeFacts>();
  const addEdge = (from: string, to: string, type: EdgeType) => {
    const k = edgeKey(from, to);
    let e = edges.get(k);
    if (!e) {
      e = { from, to, count: 0, handoffs: 0, rework: 0 };
      edges.set(k, e);
    }
    e.count += 1;
    if (type === 'handoff') e.handoffs += 1;
    if (type === 'rework') e.rework += 1;
  };
  const lead: number[] = [];
  let workOfDone = 0;
  let done = 0;
  for (const path of paths) {
    const types = edgeTypes(path.visits);
    let prev = START;
    path.visits.forEach((v, i) => {
      let s = steps.get(v.capability);
      if (!s) {
        s = { wait: [], work: [], nodes: new Map() };
        steps.set(v.capability, s);
      }
      s.wait.push(v.waitMs);
      s.work.push(v.workMs);
      for (const w of v.workers) {
        const n = s.nodes.get(w.nodeId);
        if (n) n.count += 1;
        else s.nodes.set(w.nodeId, { nodeId: w.nodeId, nodeKind: w.nodeKind, count: 1 });
      }
      addEdge(prev, v.capability, types[i] ?? 'next');
      prev = v.capability;
    });
    if (path.endState && path.endAt !== null) {
      if (path.visits.length > 0) addEdge(prev, path.endState, 'next');
      if (path.endState === 'done') {
        done += 1;
        lead.push(path.endAt - path.startAt);
        for (const v of path.visits) workOfDone += v.workMs;
      }
    }
  }
  return {
    kind,
    started: paths.length,
    done,
    steps: [...steps].map(([capability, s]) => ({
      capability,
      visits: s.wait.length,
      wait: distribution(s.wait),
      work: distribution(s.work),
      nodes: [...s.nodes.values()],
    })),
    edges: [...edges.values()],
    lead: distribution(lead),
    workOfDoneMs: workOfDone,
  };
}

const DAY_MS = 24 * 3600 * 1000;

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

/** Orders steps along the flow: by the first position the edges reach them from `start` (breadth first). */
function flowOrder(steps: readonly string[], edges: readonly EdgeFacts[]): string[] {
  const depth = new Map<string, number>([[START, 0]]);
  const queue = [START];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    for (const e of edges) {
      if (e.from === at && e.rework < e.count && !depth.has(e.to)) {
        depth.set(e.to, (depth.get(at) ?? 0) + 1);
        queue.push(e.to);
      }
    }
  }
  return [...steps].sort(
    (a, b) => (depth.get(a) ?? 1e9) - (depth.get(b) ?? 1e9) || (a < b ? -1 : a > b ? 1 : 0),
  );
}

export function buildValueStream(
  facts: ValueStreamFacts,
  window: ValueStreamWindow,
  wip: number,
): ValueStream {
  const totalWait = facts.steps.reduce((t, s) => t + s.wait.totalMs, 0);
  const order = flowOrder(
    facts.steps.map((s) => s.capability),
    facts.edges,
  );
  const steps = order.map((capability) => {
    const s = facts.steps.find((x) => x.capability === capability) as StepFacts;
    const workHops = s.nodes.reduce((t, n) => t + n.count, 0);
    return {
      ...s,
      nodes: [...s.nodes]
        .sort((a, b) => b.count - a.count || (a.nodeId < b.nodeId ? -1 : 1))
        .map((n) => ({ ...n, share: workHops ? n.count / workHops : 0 })),
      waitShare: totalWait ? s.wait.totalMs / totalWait : 0,
    };
  });
  const rank = (n: string) => (n === START ? -1 : order.indexOf(n) === -1 ? 1e6 : order.indexOf(n));
  const edges = [...facts.edges]
    .sort((a, b) => rank(a.from) - rank(b.from) || rank(a.to) - rank(b.to) || (a.to < b.to ? -1 : 1))
    .map((e) => ({
      ...e,
      // The edge's type is what most of its traversals were.
      type: (e.rework * 2 > e.count ? 'rework' : e.handoffs * 2 > e.count ? 'handoff' : 'next') as EdgeType,
    }));
  const days = Math.max(window.to.getTime() - window.from.getTime(), 0) / DAY_MS;
  let bottleneck: ValueStream['bottleneck'] = null;
  const worst = [...steps].sort((a, b) => b.wait.totalMs - a.wait.totalMs)[0];
  if (worst && worst.wait.totalMs > 0) {
    bottleneck = {
      capability: worst.capability,
      waitShare: worst.waitShare,
      explanation:
        `${worst.capability} holds ${pct(worst.waitShare)} of all waiting in ${facts.kind}: ` +
        `work waits ${formatDuration(worst.wait.p85)} there at p85 against ${formatDuration(worst.work.p85)} of work, ` +
        `so its queue, not the work, sets the pace; add capacity there or route some of it elsewhere.`,
    };
  }
  return {
    kind: facts.kind,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    items: { started: facts.started, done: facts.done, wip },
    steps,
    edges,
    leadTime: facts.lead,
    flowEfficiency: facts.lead.totalMs > 0 ? facts.workOfDoneMs / facts.lead.totalMs : null,
    throughput: { done: facts.done, perDay: days > 0 ? facts.done / days : 0 },
    wip,
    bottleneck,
  };
}
