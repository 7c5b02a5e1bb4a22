// Work items and steps: the schemas of what arrives at the edges and what flowmesh answers.
import { z } from 'zod';
import { type JsonObject, JsonValueSchema, refineJson, text } from './json.js';

/** `refund.assess`, `kb.answer`: dotted, lower case. */
export const CapabilityIdSchema = z
  .string()
  .max(128)
  .regex(
    /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/,
    'must be dotted lower-case words, such as "refund.assess"',
  );

/** A work-item kind such as `refund` or `support.question`. */
export const KindSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9_.-]*$/, 'must start with a lower-case letter and use a-z, 0-9, "_", "-" or "."');

export const PrioritySchema = z.int().min(0).max(100);

/** Attributes are typed facts policies read; keys are identifiers, values any JSON. */
export const AttributesSchema = z
  .record(
    z
      .string()
      .max(64)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'attribute names must be identifiers'),
    z.unknown(),
  )
  .refine((r) => Object.keys(r).length <= 64, 'at most 64 attributes')
  .superRefine(refineJson)
  .transform((v) => v as JsonObject);

/** An ISO 8601 date-time with offset, for a real calendar date between 1970 and 9999. */
export const IsoDateTimeSchema = z.iso.datetime({ offset: true }).refine((s) => {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return false;
  const year = d.getUTCFullYear();
  // Reject dates the calendar rolls over (2026-02-31) by checking the day survives the round trip.
  const day = Number(s.slice(8, 10));
  const local = new Date(`${s.slice(0, 10)}T00:00:00Z`);
  return year >= 1970 && year <= 9999 && local.getUTCDate() === day;
}, 'must be a real date-time between 1970 and 9999');

export const SubmitWorkItemSchema = z.strictObject({
  kind: KindSchema,
  title: text(1, 500).optional(),
  payload: JsonValueSchema.optional(),
  capability: CapabilityIdSchema.optional(),
  attributes: AttributesSchema.optional(),
  priority: PrioritySchema.optional(),
  dueAt: IsoDateTimeSchema.optional(),
});
export type SubmitWorkItem = z.infer<typeof SubmitWorkItemSchema>;

export const STEP_STATES = ['queued', 'claimed', 'completed', 'failed', 'handed_off', 'cancelled'] as const;
export type StepState = (typeof STEP_STATES)[number];
export const StepStateSchema = z.enum(STEP_STATES);

/** `rejected`: an approval or review step that a policy required came back not approved. */
export const WORK_ITEM_STATES = ['open', 'done', 'failed', 'cancelled', 'rejected'] as const;
export type WorkItemState = (typeof WORK_ITEM_STATES)[number];
export const WorkItemStateSchema = z.enum(WORK_ITEM_STATES);

export const StepSchema = z.object({
  id: z.uuid(),
  capability: z.string(),
  state: StepStateSchema,
  nodeId: z.string().nullable(),
  attempt: z.int(),
  queuedAt: z.string(),
  claimedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  result: JsonValueSchema.nullable(),
  routing: z.enum(['routable', 'unroutable']),
  eligibleNodes: z.array(z.string()),
  exclusions: z.array(
    z.object({
      nodeId: z.string(),
      reason: z.string(),
      detail: z.string().optional(),
      ruleIds: z.array(z.string()).optional(),
    }),
  ),
});
export type Step = z.infer<typeof StepSchema>;

export const WorkItemSchema = z.object({
  id: z.uuid(),
  kind: z.string(),
  title: z.string().nullable(),
  state: WorkItemStateSchema,
  priority: z.int(),
  attributes: z.record(z.string(), JsonValueSchema),
  payload: JsonValueSchema.nullable(),
  dueAt: z.string().nullable(),
  steps: z.array(StepSchema),
  result: JsonValueSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  traceId: z.string(),
});
export type WorkItem = z.infer<typeof WorkItemSchema>;

export const DEFAULT_PRIORITY = 50;
