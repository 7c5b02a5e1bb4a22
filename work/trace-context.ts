// The trace context of a step: the item's trace, parented to the step's work span. Its span id is
// derived from the step id and attempt, so it is known at claim time, before the span is written,
// and the claimer's own spans nest under the work hop once telemetry records it.
import { formatTraceparent, parseTraceparent } from './ids.js';

/** FNV-1a over `stepId:attempt` with two seeds: 16 hex digits, never all zero. */
export function stepSpanId(stepId: string, attempt: number): string {
  const input = `${stepId}:${attempt}`;
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 2) >>> 0;
  }
  const id = a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
  return id === '0000000000000000' ? '0000000000000001' : id;
}

/** The traceparent a node continues while it works on a step; the item's own when that is malformed. */
export function stepTraceparent(itemTraceparent: string, stepId: string, attempt: number): string {
  const parent = parseTraceparent(itemTraceparent);
  if (!parent) return itemTraceparent;
  return formatTraceparent({
    traceId: parent.traceId,
    spanId: stepSpanId(stepId, attempt),
    sampled: parent.sampled,
  });
}
