// From span rows to item paths: per item, its step visits in order (capability, wait, work, nodes)
// and how it ended. Pure functions; the SQL path in store/value-stream-queries.ts computes the same.
import { WORK_HOPS } from './attributes.js';
import type { SpanRow } from './span-row.js';

export interface StepVisit {
  stepId: string;
  capability: string;
  /** When the step was first queued (the start of its first hop). */
  firstAt: number;
  waitMs: number;
  workMs: number;
  /** One entry per work or approval hop: who did it. */
  workers: { nodeId: string; nodeKind: string | null }[];
  handedOff: boolean;
}

export type EdgeType = 'next' | 'handoff' | 'rework';

export interface ItemPath {
  workItemId: string;
  kind: string;
  startAt: number;
  /** done | failed | cancelled | rejected once the item ended; null while it is open. */
  endState: string | null;
  endAt: number | null;
  visits: StepVisit[];
}

const dur = (r: SpanRow) => r.endAt.getTime() - r.startAt.getTime();

/**
 * Agent spans count as work of their step unless a work hop of that step already covers them
 * (the agent worked inside its claim): only root agent spans count, so nested model and tool
 * calls are not counted twice.
 */
function agentWorkMs(agent: SpanRow[], workHops: SpanRow[], agentIds: ReadonlySet<string>): number {
  let ms = 0;
  for (const a of agent) {
    if (a.parentSpanId && agentIds.has(a.parentSpanId)) continue;
    const covered = workHops.some((w) => w.startAt <= a.startAt && w.endAt >= a.endAt);
    if (!covered) ms += dur(a);
  }
  return ms;
}

export function itemPathsFromSpans(rows: readonly SpanRow[]): ItemPath[] {
  const byItem = new Map<string, SpanRow[]>();
  for (const r of rows) {
    if (!r.workItemId) continue;
    let list = byItem.get(r.workItemId);
    if (!list) {
      list = [];
      byItem.set(r.workItemId, list);
    }
    list.push(r);
  }
  const paths: ItemPath[] = [];
  for (const [workItemId, list] of byItem) {
    const hops = list.filter((r) => r.source === 'hop');
    if (hops.length === 0) continue;
    const item = list.find((r) => r.source === 'item');
    const agentIds = new Set(list.filter((r) => r.source === 'agent').map((r) => r.spanId));
    const byStep = new Map<string, SpanRow[]>();
    for (const r of list) {
      if (!r.stepId || r.source === 'item') continue;
      let s = byStep.get(r.stepId);
      if (!s) {
        s = [];
        byStep.set(r.stepId, s);
      }
      s.push(r);
    }
    const visits: StepVisit[] = [];
    for (const [stepId, s] of byStep) {
      const stepHops = s.filter((r) => r.source === 'hop');
      const capability = stepHops.find((r) => r.capability)?.capability;
      if (!capability) continue;
      const work = stepHops.filter((r) => r.hop !== null && WORK_HOPS.has(r.hop));
      visits.push({
        stepId,
        capability,
        firstAt: Math.min(...stepHops.map((r) => r.startAt.getTime())),
        waitMs: stepHops.filter((r) => r.hop === 'wait').reduce((t, r) => t + dur(r), 0),
        workMs:
          work.reduce((t, r) => t + dur(r), 0) +
          agentWorkMs(
            s.filter((r) => r.source === 'agent'),
            work,
            agentIds,
          ),
        workers: work
          .filter((r) => r.nodeId)
          .map((r) => ({ nodeId: r.nodeId as string, nodeKind: r.nodeKind })),
        handedOff: stepHops.some((r) => r.hop === 'handoff'),
      });
    }
    visits.sort((a, b) => a.firstAt - b.firstAt || (a.stepId < b.stepId ? -1 : 1));
    paths.push({
      workItemId,
      kind: (item ?? hops[0])?.kind ?? 'unknown',
      startAt: Math.min(...[...hops, ...(item ? [item] : [])].map((r) => r.startAt.getTime())),
      endState: item?.outcome ?? null,
      endAt: item ? item.endAt.getTime() : null,
      visits,
    });
  }
  return paths;
}

/** The edge type into each visit: back to a capability seen before is rework, after a handoff is a handoff. */
export function edgeTypes(visits: readonly StepVisit[]): EdgeType[] {
  const seen = new Set<string>();
  return visits.map((v, i) => {
    const type: EdgeType = seen.has(v.capability) ? 'rework' : visits[i - 1]?.handedOff ? 'handoff' : 'next';
    seen.add(v.capability);
    return type;
  });
}
