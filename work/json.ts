// JSON values as flowmesh stores them: finite numbers, no NUL characters and no unpaired UTF-16
// surrogates (PostgreSQL refuses both in JSON and text), bounded nesting. Checked iteratively so hostile input cannot exhaust the stack.
import { z } from 'zod';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const MAX_JSON_DEPTH = 32;

/** A high surrogate without a low one after it, or a low one without a high one before it. */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why PostgreSQL would refuse `s` as text or inside JSON, or undefined when it would not. */
export function stringProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'may not contain the NUL character (\\u0000)';
  if (UNPAIRED_SURROGATE.test(s)) return 'may not contain an unpaired UTF-16 surrogate (\\ud800-\\udfff)';
  return undefined;
}

interface JsonProblem {
  path: PropertyKey[];
  message: string;
}

/** Finds the first reason `value` is not storable JSON, or undefined when it is fine. */
export function findJsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (path.length > maxDepth) return { path, message: `nesting is deeper than ${maxDepth} levels` };
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return { path, message: `strings ${problem}` };
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path, message: 'numbers must be finite' };
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ value: v[i], path: [...path, i] });
      continue;
    }
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [key, item] of Object.entries(v)) {
        const problem = stringProblem(key);
        if (problem) return { path, message: `keys ${problem}` };
        stack.push({ value: item, path: [...path, key] });
      }
      continue;
    }
    return { path, message: `${typeof v} is not a JSON value` };
  }
  return undefined;
}

export function refineJson(value: unknown, ctx: z.RefinementCtx): void {
  const problem = findJsonProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
}

/** Any storable JSON value. */
export const JsonValueSchema: z.ZodType<JsonValue> = z
  .unknown()
  .superRefine(refineJson)
  .transform((v) => v as JsonValue);

/** A storable JSON object. */
export const JsonObjectSchema: z.ZodType<JsonObject> = z
  .record(z.string(), z.unknown())
  .superRefine(refineJson)
  .transform((v) => v as JsonObject);

/** A string PostgreSQL can store as text: no NUL characters, no unpaired surrogates. */
export function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .superRefine((s, ctx) => {
      const problem = stringProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}
