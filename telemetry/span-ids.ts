// Span ids that are known before the span exists: a step's work span id is derived from the step id
// and attempt, so the claim response can hand out the traceparent the agent's spans will hang under,
// and the item's root span reuses the span id stored in the item's traceparent.

import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { formatTraceparent, parseTraceparent } from '../work/ids.js';

/** FNV-1a over the string with two seeds: 16 hex digits, never all zero. */
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

/**
 * The traceparent a node continues while it works on a step: the item's trace, parented to the
 * step's (future) work span. Returns undefined when the item's traceparent is malformed.
 */
export function stepTraceparent(
  itemTraceparent: string,
  stepId: string,
  attempt: number,
): string | undefined {
  const parent = parseTraceparent(itemTraceparent);
  if (!parent) return undefined;
  return formatTraceparent({
    traceId: parent.traceId,
    spanId: stepSpanId(stepId, attempt),
    sampled: parent.sampled,
  });
}

/** An IdGenerator that returns chosen ids for the span being started inside `withIds`. */
export class PresetIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private traceId: string | undefined;
  private spanId: string | undefined;

  generateTraceId(): string {
    return this.traceId ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    return this.spanId ?? this.random.generateSpanId();
  }

  /** Span creation is synchronous, so ids set around it cannot leak into another span. */
  withIds<T>(ids: { traceId?: string; spanId?: string }, fn: () => T): T {
    this.traceId = ids.traceId;
    this.spanId = ids.spanId;
    try {
      return fn();
    } finally {
      this.traceId = undefined;
      this.spanId = undefined;
    }
  }
}
