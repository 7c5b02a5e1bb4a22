// JSON values as flowmesh stores them: finite numbers, no NUL characters (PostgreSQL refuses them),
// bounded nesting. Checked iteratively so hostile input cannot exhaust the stack.
import { z } from 'zod';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const MAX_JSON_DEPTH = 32;

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
      if (v.includes('\u0000'))
        return { path, message: 'strings may not contain the NUL character (\\u0000)' };
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
        if (key.includes('\u0000'))
          return { path, message: 'keys may not contain the NUL character (\\u0000)' };
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

/** A string PostgreSQL can store as text: no NUL characters. */
export function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'may not contain the NUL character (\\u0000)');
}
