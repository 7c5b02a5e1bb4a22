// One span as the span store keeps it: flat columns for what reconstruction reads, the rest as attributes.

export type SpanSource = 'hop' | 'item' | 'agent';

export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  source: SpanSource;
  hop: string | null;
  workItemId: string | null;
  kind: string | null;
  stepId: string | null;
  capability: string | null;
  nodeId: string | null;
  nodeKind: string | null;
  attempt: number | null;
  outcome: string | null;
  startAt: Date;
  endAt: Date;
  attributes: Record<string, unknown>;
}
