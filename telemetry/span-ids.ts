// Span ids that are known before the span exists: a step's work span id is derived from the step id
// and attempt, so the claim response can hand out the traceparent the agent's spans will hang under,
// and the item's root span reuses the span id stored in the item's traceparent.

import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';

export { stepSpanId, stepTraceparent } from '../work/trace-context.js';

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
