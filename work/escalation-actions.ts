// The escalation queue's vocabulary: what an operator may do to resolve an escalation, and how the
// queue is ordered. No I/O.
import { z } from 'zod';
import { ESCALATION_SEVERITIES, type EscalationSeverity } from './escalation.js';

export const RESOLUTION_ACTIONS = ['retry', 'reroute', 'cancel', 'approve', 'reject', 'dismiss'] as const;
export type ResolutionAction = (typeof RESOLUTION_ACTIONS)[number];

const note = z.string().trim().min(1).max(2000).optional();

export const ResolveEscalationSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('retry'), note }),
  z
    .strictObject({
      action: z.literal('reroute'),
      nodeId: z.string().min(1).max(100).optional(),
      capability: z.string().min(1).max(100).optional(),
      note,
    })
    .refine((v) => (v.nodeId === undefined) !== (v.capability === undefined), {
      message: 'reroute needs exactly one of nodeId or capability',
      path: ['nodeId'],
    }),
  z.strictObject({ action: z.literal('cancel'), note }),
  z.strictObject({ action: z.literal('approve'), note }),
  z.strictObject({ action: z.literal('reject'), note }),
  z.strictObject({ action: z.literal('dismiss'), note }),
]);
export type ResolveEscalation = z.infer<typeof ResolveEscalationSchema>;

/** Most severe first. */
export function severityRank(s: EscalationSeverity): number {
  return ESCALATION_SEVERITIES.length - 1 - ESCALATION_SEVERITIES.indexOf(s);
}
