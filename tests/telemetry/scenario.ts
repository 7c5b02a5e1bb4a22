// A scripted value stream for the telemetry tests: five refund items on the manual clock, written as
// hops through the runtime's HopTracer (the same path the router's HopRecorder takes).
// Every duration is in minutes from the item's start; the expected numbers are worked out in value-stream.test.ts.
import type { HopInput, HopTracer } from '../../telemetry/hops.js';
import { formatTraceparent, newSpanId, newTraceId, uuidv7 } from '../../work/ids.js';

export const T0 = Date.parse('2026-01-05T09:00:00.000Z');
export const MIN = 60_000;

type NodeKind = 'human_team' | 'self_service' | 'ai_agent';
const NODE_KIND: Record<string, NodeKind> = {
  'triage-agent': 'ai_agent',
  'support-team': 'human_team',
  'refund-agent': 'ai_agent',
  'billing-team': 'human_team',
  'quality-team': 'human_team',
  'help-centre': 'self_service',
};

/** One step visit: capability, minutes waiting, minutes worked, by whom, and how the work ended. */
export interface ScriptedVisit {
  capability: string;
  wait: number;
  work: number;
  node: string;
  outcome?: 'completed' | 'handed_off' | 'rejected';
  /** Record the work as an `approval` hop instead of `work`. */
  approval?: boolean;
}

export interface ScriptedItem {
  name: string;
  startMin: number;
  visits: ScriptedVisit[];
  /** Whether the item reached done after its last visit. */
  done: boolean;
}

export const SCRIPT: ScriptedItem[] = [
  {
    name: 'A, straight through',
    startMin: 0,
    done: true,
    visits: [
      { capability: 'intake.triage', wait: 10, work: 5, node: 'triage-agent' },
      { capability: 'refund.assess', wait: 30, work: 20, node: 'refund-agent' },
      { capability: 'refund.execute', wait: 10, work: 5, node: 'help-centre' },
    ],
  },
  {
    name: 'B, with an approval',
    startMin: 60,
    done: true,
    visits: [
      { capability: 'intake.triage', wait: 5, work: 5, node: 'triage-agent' },
      { capability: 'refund.assess', wait: 20, work: 25, node: 'billing-team' },
      { capability: 'refund.approve', wait: 120, work: 10, node: 'billing-team', approval: true },
      { capability: 'refund.execute', wait: 10, work: 5, node: 'help-centre' },
    ],
  },
  {
    name: 'C, handed off to quality review',
    startMin: 120,
    done: true,
    visits: [
      { capability: 'intake.triage', wait: 10, work: 5, node: 'support-team' },
      { capability: 'refund.assess', wait: 30, work: 10, node: 'refund-agent', outcome: 'handed_off' },
      { capability: 'quality.review', wait: 60, work: 20, node: 'quality-team' },
      { capability: 'refund.execute', wait: 10, work: 5, node: 'help-centre' },
    ],
  },
  {
    name: 'D, rejected once and reworked',
    startMin: 180,
    done: true,
    visits: [
      { capability: 'intake.triage', wait: 5, work: 5, node: 'triage-agent' },
      { capability: 'refund.assess', wait: 15, work: 15, node: 'refund-agent' },
      { capability: 'refund.approve', wait: 90, work: 10, node: 'billing-team', outcome: 'rejected' },
      { capability: 'refund.assess', wait: 5, work: 10, node: 'billing-team' },
      { capability: 'refund.approve', wait: 30, work: 5, node: 'billing-team' },
      { capability: 'refund.execute', wait: 20, work: 5, node: 'help-centre' },
    ],
  },
  {
    name: 'E, still in progress',
    startMin: 240,
    done: false,
    visits: [{ capability: 'intake.triage', wait: 5, work: 5, node: 'triage-agent' }],
  },
];

export interface PlayedItem {
  workItemId: string;
  traceparent: string;
  stepIds: string[];
}

/** Records every hop of the script (and each finished item's root span); returns ids per item. */
export function playScript(hops: HopTracer, kind = 'refund'): PlayedItem[] {
  return SCRIPT.map((item) => {
    const workItemId = uuidv7(T0 + item.startMin * MIN);
    const traceparent = formatTraceparent({ traceId: newTraceId(), spanId: newSpanId(), sampled: true });
    const stepIds: string[] = [];
    let at = T0 + item.startMin * MIN;
    item.visits.forEach((v, seq) => {
      const stepId = uuidv7(at);
      stepIds.push(stepId);
      const base = {
        workItemId,
        workItemKind: kind,
        traceparent,
        stepId,
        seq: seq + 1,
        capability: v.capability,
        attempt: 1,
      };
      const hop = (h: Omit<HopInput, keyof typeof base>) => hops.record({ ...base, ...h });
      hop({
        hop: 'route',
        nodeId: null,
        nodeKind: null,
        startedAt: new Date(at),
        endedAt: new Date(at),
        outcome: 'routed',
      });
      const claimed = at + v.wait * MIN;
      hop({
        hop: 'wait',
        nodeId: v.node,
        nodeKind: NODE_KIND[v.node] ?? null,
        startedAt: new Date(at),
        endedAt: new Date(claimed),
        outcome: 'claimed',
      });
      const finished = claimed + v.work * MIN;
      hop({
        hop: v.approval ? 'approval' : 'work',
        nodeId: v.node,
        nodeKind: NODE_KIND[v.node] ?? null,
        startedAt: new Date(claimed),
        endedAt: new Date(finished),
        outcome: v.outcome ?? 'completed',
      });
      if (v.outcome === 'handed_off') {
        hop({
          hop: 'handoff',
          nodeId: v.node,
          nodeKind: NODE_KIND[v.node] ?? null,
          startedAt: new Date(finished),
          endedAt: new Date(finished),
          outcome: 'handed_off',
        });
      }
      at = finished;
    });
    if (item.done) {
      hops.recordItemEnd({
        workItemId,
        workItemKind: kind,
        traceparent,
        state: 'done',
        createdAt: new Date(T0 + item.startMin * MIN),
        endedAt: new Date(at),
      });
    }
    return { workItemId, traceparent, stepIds };
  });
}
