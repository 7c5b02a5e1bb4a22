// Attribute names of flowmesh spans (ARCHITECTURE.md, "Telemetry") and the hop vocabulary.

export const ATTR = {
  workItemId: 'flowmesh.work_item.id',
  workItemKind: 'flowmesh.work_item.kind',
  workItemState: 'flowmesh.work_item.state',
  step: 'flowmesh.step',
  stepSeq: 'flowmesh.step.seq',
  capability: 'flowmesh.capability',
  nodeId: 'flowmesh.node.id',
  nodeKind: 'flowmesh.node.kind',
  hop: 'flowmesh.hop',
  policyIds: 'flowmesh.policy.ids',
  policyVersion: 'flowmesh.policy.version',
  attempt: 'flowmesh.attempt',
  outcome: 'flowmesh.outcome',
  eligibleNodes: 'flowmesh.route.eligible_nodes',
  exclusions: 'flowmesh.route.exclusions',
  toCapability: 'flowmesh.handoff.to_capability',
  reason: 'flowmesh.reason',
} as const;

export const HOPS = ['route', 'wait', 'work', 'handoff', 'approval', 'escalate'] as const;
export type Hop = (typeof HOPS)[number];

export function isHop(value: unknown): value is Hop {
  return typeof value === 'string' && (HOPS as readonly string[]).includes(value);
}

/** Hops whose time counts as work on the step (an approval is a person working on an approval step). */
export const WORK_HOPS: ReadonlySet<string> = new Set(['work', 'approval']);

/** Span names: `flowmesh.<hop>` for hops, `flowmesh.work_item` for the item's root span. */
export function hopSpanName(hop: Hop): string {
  return `flowmesh.${hop}`;
}
export const ITEM_SPAN_NAME = 'flowmesh.work_item';
