// What triage produces for a free-text request: a routable kind and capability, the facts policies read,
// a priority and how sure it is. Model output is validated against this before anyone trusts it.
import { z } from 'zod';
import { AttributesSchema, CapabilityIdSchema, KindSchema, PrioritySchema } from '../../work/work-item.js';

export const TriageSchema = z.strictObject({
  kind: KindSchema,
  capability: CapabilityIdSchema,
  attributes: AttributesSchema.default({}),
  priority: PrioritySchema,
  confidence: z.number().min(0).max(1),
});
export type Triage = z.infer<typeof TriageSchema>;

/** The request triage reads: the item's title and free text. */
export const TriageRequestSchema = z.strictObject({
  title: z.string().max(500).optional(),
  text: z.string().min(1).max(20_000),
});
export type TriageRequest = z.infer<typeof TriageRequestSchema>;

export type TriageOutcome =
  | { status: 'classified'; triage: Triage; source: 'model' | 'rules'; attempts: number }
  /** The model never produced valid output: a person must triage it. */
  | { status: 'escalated'; reason: string; attempts: number; errors: string[] };
