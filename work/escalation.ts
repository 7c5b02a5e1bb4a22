// Escalations: exceptions a person must look at. Built here (no I/O); the router writes them in the
// transaction of the change that raised them, the escalation queue manages them afterwards.
import type { NewEvent } from './events.js';
import { uuidv7 } from './ids.js';
import type { JsonObject } from './json.js';

export const ESCALATION_KINDS = [
  'no_capable_node',
  'retries_exhausted',
  'step_failed',
  'policy',
  'sla_breached',
  'sla_at_risk',
  'agent_escalated',
  'low_confidence',
  'stuck',
  'node_down',
] as const;
export type EscalationKind = (typeof ESCALATION_KINDS)[number];
export const ESCALATION_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type EscalationSeverity = (typeof ESCALATION_SEVERITIES)[number];
export const ESCALATION_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type EscalationState = (typeof ESCALATION_STATES)[number];

export interface EscalationRecord {
  id: string;
  kind: EscalationKind | (string & {});
  severity: EscalationSeverity;
  workItemId: string;
  stepId: string | null;
  reason: string;
  state: EscalationState;
  owner: string | null;
  details: JsonObject;
  resolution: JsonObject | null;
  createdAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
}

export function newEscalation(input: {
  kind: EscalationRecord['kind'];
  severity: EscalationSeverity;
  workItemId: string;
  stepId: string | null;
  reason: string;
  details?: JsonObject;
  now: Date;
}): EscalationRecord {
  return {
    id: uuidv7(input.now.getTime()),
    kind: input.kind,
    severity: input.severity,
    workItemId: input.workItemId,
    stepId: input.stepId,
    reason: input.reason,
    state: 'open',
    owner: null,
    details: input.details ?? {},
    resolution: null,
    createdAt: input.now,
    updatedAt: input.now,
    resolvedAt: null,
  };
}

export function escalationOpenedEvent(e: EscalationRecord): NewEvent {
  return {
    workItemId: e.workItemId,
    stepId: e.stepId,
    type: 'escalation.opened',
    data: { escalationId: e.id, kind: e.kind, severity: e.severity, reason: e.reason },
    at: e.createdAt,
  };
}
