// Value streams in the network file: for a work-item kind, the steps it goes through (each names a
// capability, never a node), conditional edges in CEL over `result` and `item`, rework loops with a
// maximum count, and parallel branches that join. Checked against the network when the file loads.
import { Environment } from '@marcbachmann/cel-js';
import { z } from 'zod';
import { CapabilityIdSchema } from '../work/work-item.js';

export const StepIdSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, 'step ids use a-z, 0-9, "_" and "-", and start with a letter');

/** How a stream ends: `completed`, `rejected`, `escalated`… (the item's outcome). */
export const OutcomeSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z_]*$/, 'outcomes use a-z and "_"');

export const EdgeSchema = z
  .strictObject({
    /** CEL over `result` (this step's result) and `item`; absent means always. */
    when: z.string().min(1).max(2000).optional(),
    /** The next step, or several steps that then run in parallel. */
    to: z.union([StepIdSchema, z.array(StepIdSchema).min(2)]).optional(),
    /** Ends the stream with this outcome instead of going to a step. */
    end: OutcomeSchema.optional(),
    /** A rework edge: taken at most this many times per item; after that the next edge applies. */
    max: z.int().min(1).max(100).optional(),
  })
  .refine((e) => (e.to === undefined) !== (e.end === undefined), {
    message: 'an edge has exactly one of "to" and "end"',
  });
export type Edge = z.infer<typeof EdgeSchema>;

export const StreamStepSchema = z.strictObject({
  id: StepIdSchema,
  capability: CapabilityIdSchema,
  /**
   * Where to go after this step: a step id, or edges tried in order (the first whose `when` holds wins;
   * the last edge must be unconditional so there is always a way on). Absent: the stream ends
   * `completed`, unless the step is a branch that a `join` waits for.
   */
  next: z.union([StepIdSchema, z.array(EdgeSchema).min(1)]).optional(),
  /** Parallel branches: this step starts only after all of these steps have completed. */
  join: z.array(StepIdSchema).min(2).optional(),
  /**
   * CEL over `result` and `item` giving a map (`result.attributes`): when the step completes, its
   * entries are added to the item's attributes (ones the item has keep their value), so later
   * conditions and policies see them. A step that sets none, or an expression that fails, adds nothing.
   */
  attributes: z.string().min(1).max(2000).optional(),
});
export type StreamStep = z.infer<typeof StreamStepSchema>;

export const ValueStreamSchema = z.strictObject({
  kind: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_.-]*$/, 'kinds use a-z, 0-9, "_", "-" and "."'),
  description: z.string().max(1000).default(''),
  /** The first step; defaults to the first one listed. */
  start: StepIdSchema.optional(),
  steps: z.array(StreamStepSchema).min(1),
});
export type ValueStream = z.infer<typeof ValueStreamSchema>;

/** The CEL environment of edge conditions: `result` and `item`, both dynamic JSON. */
export function conditionEnvironment(): Environment {
  return new Environment({ unlistedVariablesAreDyn: false })
    .registerVariable('result', 'dyn')
    .registerVariable('item', 'dyn');
}

/** Parses and type-checks a condition; returns why it is unusable, or undefined when it is fine. */
export function checkCondition(env: Environment, source: string): string | undefined {
  try {
    const checked = env.check(source);
    if (!checked.valid) return `invalid CEL: ${firstLine(checked.error?.message)}`;
    if (checked.type !== 'bool' && checked.type !== 'dyn') {
      return `a condition must be a bool, this is ${checked.type}`;
    }
    return undefined;
  } catch (error) {
    return `invalid CEL: ${firstLine((error as Error).message)}`;
  }
}

/** Parses and type-checks a step's `attributes`; returns why it is unusable, or undefined when it is fine. */
export function checkAttributes(env: Environment, source: string): string | undefined {
  try {
    const checked = env.check(source);
    if (!checked.valid) return `invalid CEL: ${firstLine(checked.error?.message)}`;
    if (!checked.type?.startsWith('map') && checked.type !== 'dyn') {
      return `attributes must be a map, this is ${checked.type}`;
    }
    return undefined;
  } catch (error) {
    return `invalid CEL: ${firstLine((error as Error).message)}`;
  }
}

const firstLine = (message: string | undefined): string => (message ?? 'unknown error').split('\n')[0]!;

/** Normalizes `next` to edges. */
export function edgesOf(step: StreamStep): Edge[] {
  if (step.next === undefined) return [];
  return typeof step.next === 'string' ? [{ to: step.next }] : step.next;
}

export const targetsOf = (edge: Edge): string[] =>
  edge.to === undefined ? [] : typeof edge.to === 'string' ? [edge.to] : edge.to;

export interface StreamIssue {
  path: (string | number)[];
  message: string;
}

/** Checks one stream against the network's capabilities; paths are relative to the stream. */
export function validateValueStream(
  stream: ValueStream,
  capabilities: ReadonlySet<string>,
  env: Environment = conditionEnvironment(),
): StreamIssue[] {
  const issues: StreamIssue[] = [];
  const ids = new Map<string, number>();
  stream.steps.forEach((s, i) => {
    if (ids.has(s.id)) issues.push({ path: ['steps', i, 'id'], message: `duplicate step id ${s.id}` });
    ids.set(s.id, i);
    if (!capabilities.has(s.capability)) {
      issues.push({
        path: ['steps', i, 'capability'],
        message: `unknown capability ${s.capability} (declare it under capabilities)`,
      });
    }
  });
  if (stream.start !== undefined && !ids.has(stream.start)) {
    issues.push({ path: ['start'], message: `unknown step ${stream.start}` });
  }
  const joined = new Map<string, string>();
  stream.steps.forEach((s, i) => {
    s.join?.forEach((id, k) => {
      if (!ids.has(id)) issues.push({ path: ['steps', i, 'join', k], message: `unknown step ${id}` });
      else if (joined.has(id)) {
        issues.push({ path: ['steps', i, 'join', k], message: `${id} already joins ${joined.get(id)}` });
      } else joined.set(id, s.id);
      const branch = stream.steps[ids.get(id) ?? -1];
      if (branch?.next !== undefined) {
        issues.push({
          path: ['steps', i, 'join', k],
          message: `${id} ends a parallel branch, so it cannot have "next" (it goes on to ${s.id})`,
        });
      }
    });
    if (s.attributes !== undefined) {
      const why = checkAttributes(env, s.attributes);
      if (why) issues.push({ path: ['steps', i, 'attributes'], message: why });
    }
    const edges = edgesOf(s);
    const list = typeof s.next === 'string' ? undefined : s.next;
    edges.forEach((e, j) => {
      const at: (string | number)[] = list ? ['steps', i, 'next', j] : ['steps', i, 'next'];
      for (const t of targetsOf(e)) {
        if (!ids.has(t)) issues.push({ path: list ? [...at, 'to'] : at, message: `unknown step ${t}` });
      }
      if (e.when !== undefined) {
        const why = checkCondition(env, e.when);
        if (why) issues.push({ path: [...at, 'when'], message: why });
      }
    });
    const last = list?.at(-1);
    if (last && (last.when !== undefined || last.max !== undefined)) {
      issues.push({
        path: ['steps', i, 'next', list!.length - 1],
        message: 'the last edge must have no "when" and no "max", so the stream always has a way on',
      });
    }
  });
  const cycle = unboundedCycle(stream);
  if (cycle) {
    issues.push({
      path: ['steps'],
      message: `steps ${cycle.join(' → ')} form a loop with no "max" on any of its edges`,
    });
  }
  return issues;
}

/** A loop made only of edges without `max` would never end: find one, if any. */
function unboundedCycle(stream: ValueStream): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const s of stream.steps) {
    next.set(
      s.id,
      edgesOf(s)
        .filter((e) => e.max === undefined)
        .flatMap(targetsOf),
    );
  }
  for (const s of stream.steps) {
    for (const id of s.join ?? []) next.get(id)?.push(s.id);
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    path.push(id);
    for (const t of next.get(id) ?? []) {
      const found = visit(t);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of stream.steps) {
    const found = visit(s.id);
    if (found) return found;
  }
  return undefined;
}
