// The rule file format: a YAML list of rules, each with an id, the hook it runs on, a `when`
// condition and exactly one effect. Structure is checked here; expressions are checked in compile.ts.
import { z } from 'zod';
import { CapabilityIdSchema } from '../work/work-item.js';

export const HOOKS = ['admit', 'route', 'complete'] as const;
export type Hook = (typeof HOOKS)[number];

export const EFFECT_KINDS = ['deny', 'require', 'escalate'] as const;
export type EffectKind = (typeof EFFECT_KINDS)[number];

/**
 * Which effects make sense at which hook; anything else is refused at load with the reason.
 * `require` runs on completion: the inserted step follows the work it approves or reviews.
 */
export const EFFECTS_BY_HOOK: Record<Hook, readonly EffectKind[]> = {
  admit: ['deny', 'escalate'],
  route: ['deny', 'escalate'],
  complete: ['require', 'escalate'],
};

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RuleIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'rule ids use a-z, 0-9, "_", "-" and "."');

/** A CEL expression; booleans are accepted too so `when: true` reads naturally in YAML. */
const ExpressionSchema = z
  .union([z.string().min(1).max(4000), z.boolean()])
  .transform((v) => (typeof v === 'boolean' ? String(v) : v));

export const EscalateSchema = z.strictObject({
  severity: z.enum(SEVERITIES),
  reason: z.string().min(1).max(1000),
});

export const RuleSchema = z
  .strictObject({
    id: RuleIdSchema,
    description: z.string().max(2000).default(''),
    on: z.enum(HOOKS),
    /** When absent the rule always applies. */
    when: ExpressionSchema.default('true'),
    deny: ExpressionSchema.optional(),
    require: CapabilityIdSchema.optional(),
    escalate: EscalateSchema.optional(),
    /** What a denial says to the submitter (admit) or records as the reason (route). */
    message: z.string().min(1).max(1000).optional(),
  })
  .superRefine((rule, ctx) => {
    const present = EFFECT_KINDS.filter((k) => rule[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: present.length === 0 ? [] : [present[1] ?? present[0]!],
        message:
          present.length === 0
            ? 'a rule needs exactly one effect: deny, require or escalate'
            : `a rule has exactly one effect, this one has ${present.join(' and ')}`,
      });
      return;
    }
    const effect = present[0]!;
    if (!EFFECTS_BY_HOOK[rule.on].includes(effect)) {
      ctx.addIssue({
        code: 'custom',
        path: [effect],
        message: `${effect} is not an effect of "on: ${rule.on}" (it allows ${EFFECTS_BY_HOOK[rule.on].join(', ')})`,
      });
    }
  });
export type RuleInput = z.input<typeof RuleSchema>;
export type Rule = z.infer<typeof RuleSchema>;

export const RuleFileSchema = z.array(RuleSchema).max(1000);

export function effectOf(rule: Rule): EffectKind {
  return rule.deny !== undefined ? 'deny' : rule.require !== undefined ? 'require' : 'escalate';
}
