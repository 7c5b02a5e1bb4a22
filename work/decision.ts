// Policy decisions as records: what was decided at a hook, by which policy version and rules, and why.
// Built here (no I/O); written in the transaction of the change they decided.
import { uuidv7 } from './ids.js';
import type { JsonObject } from './json.js';

export const DECISION_HOOKS = ['admit', 'route', 'complete'] as const;
export type DecisionHook = (typeof DECISION_HOOKS)[number];

export interface DecisionRecord {
  id: string;
  workItemId: string | null;
  stepId: string | null;
  hook: DecisionHook;
  /** `admitted`, `denied`, `routed`, `unroutable`, `continued`, `required`, `approved`, `rejected`. */
  outcome: string;
  policyVersion: string;
  ruleIds: string[];
  details: JsonObject;
  at: Date;
}

export function newDecision(input: Omit<DecisionRecord, 'id'>): DecisionRecord {
  return { id: uuidv7(input.at.getTime()), ...input };
}

/** A step a completion policy inserted; its result `{approved, note?}` continues or ends the item. */
export interface RequirementRecord {
  stepId: string;
  workItemId: string;
  ruleId: string;
  capability: string;
  originStepId: string;
  policyVersion: string;
  createdAt: Date;
}

export interface ApprovalResult {
  approved: boolean;
  note?: string;
}

/** Reads `{approved: boolean, note?: string}`; undefined when the result is not of that shape. */
export function approvalOf(result: unknown): ApprovalResult | undefined {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return undefined;
  const r = result as Record<string, unknown>;
  if (typeof r.approved !== 'boolean') return undefined;
  if (r.note !== undefined && typeof r.note !== 'string') return undefined;
  return r.note === undefined ? { approved: r.approved } : { approved: r.approved, note: r.note };
}
