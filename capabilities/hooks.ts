// The router's extension points. The policy engine plugs in as a RouteGuard, telemetry as a
// HopRecorder; the defaults allow everything and record nothing.
import type { EscalationSeverity } from '../work/escalation.js';
import type { JsonValue } from '../work/json.js';
import type { Exclusion, WorkItemRecord } from '../work/records.js';
import type { NetworkNode, NodeKind } from './network-schema.js';

/** A node that has (or was given through a fallback tier) the step's capability and is up. */
export interface RouteCandidate {
  node: NetworkNode;
  /** 0..1; 0 for a fallback node that does not list the capability itself. */
  proficiency: number;
}

/** What a guard sees of the step being routed. */
export interface GuardStep {
  id: string;
  capability: string;
  seq: number;
  attempt: number;
}

/** What the policy engine adds to a verdict: the version and rules that decided it, escalations, failures. */
export interface PolicyTrace {
  version: string;
  ruleIds: string[];
  escalations: Array<{ ruleId: string; severity: EscalationSeverity; reason: string }>;
  /** Rules that failed to evaluate and counted as matched (fail closed). */
  failures: Array<{ ruleId: string; field: string; nodeId?: string; error: string }>;
}

export interface RouteVerdict {
  allowed: readonly RouteCandidate[];
  excluded: readonly Exclusion[];
  policy?: PolicyTrace;
}

export type AdmissionVerdict =
  | { allowed: true; ruleIds?: string[]; policy?: PolicyTrace }
  | { allowed: false; reason: string; ruleIds: string[]; policy?: PolicyTrace };

/** A step the completion policies require before the item is done (an approval, a review). */
export interface RequiredStep {
  capability: string;
  reason: string;
  ruleIds: string[];
}

export interface CompletionVerdict {
  required: RequiredStep[];
  policy?: PolicyTrace;
}

/** Who completed the step and how sure it was. */
export interface CompletionContext {
  node: NetworkNode | undefined;
  confidence: number | undefined;
}

/**
 * Policies join routing here. Calls are synchronous: they run per candidate node on the submission
 * path (compiled CEL evaluates in about a microsecond), so the guard must have its rules loaded.
 */
export interface RouteGuard {
  /** On submission, before anything is written: a denial refuses the item (422 policy_denied). */
  admit(item: WorkItemRecord): AdmissionVerdict;
  /** Which candidates may take this step; every one left out needs a reason. */
  evaluate(item: WorkItemRecord, step: GuardStep, candidates: readonly RouteCandidate[]): RouteVerdict;
  /** After a step completes: steps to insert before the item may finish. */
  onComplete(
    item: WorkItemRecord,
    step: GuardStep,
    result: JsonValue | null,
    context: CompletionContext,
  ): CompletionVerdict;
}

export const allowAllGuard: RouteGuard = {
  admit: () => ({ allowed: true }),
  evaluate: (_item, _step, candidates) => ({ allowed: candidates, excluded: [] }),
  onComplete: () => ({ required: [] }),
};

/** The router reports work on an approval step as `work`; telemetry records it as an `approval` hop. */
export const HOP_KINDS = ['route', 'wait', 'work', 'handoff', 'escalate'] as const;
export type HopKind = (typeof HOP_KINDS)[number];

/** One hop of the realized value stream, with explicit start and end (spans are written after the fact). */
export interface HopRecord {
  hop: HopKind;
  workItemId: string;
  workItemKind: string;
  /** The item's W3C traceparent: the hop is a child of the item's root context. */
  traceparent: string;
  stepId: string;
  seq: number;
  capability: string;
  nodeId: string | null;
  nodeKind: NodeKind | null;
  attempt: number;
  startedAt: Date;
  endedAt: Date;
  /** `routed`, `unroutable`, `claimed`, `completed`, `failed`, `requeued`, `handed_off`, `expired`… */
  outcome: string;
  policyIds?: string[];
  attributes?: Record<string, string | number | boolean>;
  /** Set when the change that made this hop ended the item, so the recorder need not read it back. */
  itemEnd?: HopItemEnd;
}

/** How an item ended, as the change that ended it knows it. */
export interface HopItemEnd {
  /** done | failed | cancelled | rejected */
  state: string;
  createdAt: Date;
  endedAt: Date;
}

/** Receives hops after the change that produced them committed. Must not throw or block. */
export interface HopRecorder {
  record(hop: HopRecord): void;
  /** After an item ended with no hop of its own (cancelled, its value stream finished): close its trace. */
  ended?(workItemId: string): void;
}

export const noopHopRecorder: HopRecorder = { record() {} };
