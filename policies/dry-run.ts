// The dry run behind POST /v1/policies/evaluate (and any other edge): an item, and a node or a result,
// in; the effects, the deciding rules and each rule's explanation out. Nothing is written.
import { z } from 'zod';
import { FlowmeshError } from '../work/errors.js';
import { type JsonValue, JsonValueSchema } from '../work/json.js';
import {
  AttributesSchema,
  CapabilityIdSchema,
  IsoDateTimeSchema,
  KindSchema,
  PrioritySchema,
} from '../work/work-item.js';
import type { NodeFacts } from './environment.js';
import type { Effect, NodeExclusion, RuleFailure } from './evaluate.js';
import type { RuleExplanation } from './explain.js';
import type { PolicySet } from './policy-set.js';
import { HOOKS, type Hook } from './rule-schema.js';

const InlineNodeSchema = z.strictObject({
  id: z.string().min(1).max(64),
  name: z.string().max(200).optional(),
  kind: z.enum(['human_team', 'self_service', 'ai_agent']),
  capabilities: z.array(CapabilityIdSchema).max(200).default([]),
  attributes: AttributesSchema.default({}),
});

export const DryRunSchema = z
  .strictObject({
    on: z.enum(HOOKS),
    item: z.strictObject({
      kind: KindSchema,
      title: z.string().max(500).optional(),
      attributes: AttributesSchema.default({}),
      priority: PrioritySchema.default(50),
      dueAt: IsoDateTimeSchema.optional(),
    }),
    step: z
      .strictObject({ capability: CapabilityIdSchema, attempt: z.int().min(1).max(1000).default(1) })
      .optional(),
    /** A node id of the network, or a node written out. Route without a node: every node with the capability. */
    node: z.union([z.string().min(1).max(64), InlineNodeSchema]).optional(),
    result: JsonValueSchema.optional(),
    confidence: z.number().min(0).max(1).optional(),
    now: IsoDateTimeSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.on !== 'admit' && !v.step) {
      ctx.addIssue({
        code: 'custom',
        path: ['step'],
        message: `on: ${v.on} needs the step ({capability, attempt})`,
      });
    }
    if (v.on === 'complete' && v.node === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['node'],
        message: 'on: complete needs the node that completed the step',
      });
    }
  });
export type DryRun = z.infer<typeof DryRunSchema>;

export interface DryRunResult {
  version: string;
  on: Hook;
  /** admit: the submission would be refused; route: no node is left. */
  denied: boolean;
  effects: Effect[];
  ruleIds: string[];
  failures: RuleFailure[];
  eligible?: string[];
  excluded?: NodeExclusion[];
  rules: RuleExplanation[];
}

export function dryRun(set: PolicySet, nodes: readonly NodeFacts[], input: DryRun, now: Date): DryRunResult {
  const at = input.now ? new Date(input.now) : now;
  const item = { ...input.item, title: input.item.title ?? null, dueAt: input.item.dueAt ?? null };
  let node: NodeFacts | undefined;
  if (typeof input.node === 'string') {
    node = nodes.find((n) => n.id === input.node);
    if (!node) {
      throw new FlowmeshError('invalid', `unknown node ${input.node}; GET /v1/nodes lists them`, {
        errors: [{ path: 'node', message: `unknown node ${input.node}` }],
      });
    }
  } else node = input.node;
  const step = input.step;
  const explanations = (n: NodeFacts | undefined) =>
    set.explain({
      on: input.on,
      item,
      step,
      node: n,
      result: input.result,
      confidence: input.confidence,
      now: at,
    });

  if (input.on === 'admit') {
    const d = set.admit({ item, now: at });
    return {
      ...d,
      on: 'admit',
      denied: d.effects.some((e) => e.type === 'deny'),
      rules: explanations(undefined),
    };
  }
  if (input.on === 'route') {
    const candidates = node
      ? [node]
      : nodes.filter((n) =>
          n.capabilities.some((c) => (typeof c === 'string' ? c : c.capability) === step!.capability),
        );
    const d = set.route({ item, step: step!, now: at, nodes: candidates });
    const rules = node
      ? explanations(node)
      : candidates.flatMap((c) => explanations(c).filter((r) => r.applied));
    return { ...d, on: 'route', denied: d.eligible.length === 0, rules };
  }
  const d = set.complete({
    item,
    step: step!,
    node: node!,
    result: (input.result ?? null) as JsonValue,
    confidence: input.confidence,
    now: at,
  });
  return { ...d, on: 'complete', denied: false, rules: explanations(node) };
}
