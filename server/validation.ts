// Turns zod validation failures at the edge into problem details that name the field and the reason.
import type { z } from 'zod';
import { FlowmeshError, formatPath } from '../work/errors.js';

export type ValidationTarget = 'json' | 'query' | 'param' | 'header' | 'form' | 'cookie';

export function validationError(error: z.ZodError, target: ValidationTarget): FlowmeshError {
  const prefix = target === 'json' ? '' : `${target === 'param' ? 'path' : target}.`;
  const all = error.issues.flatMap((issue) => {
    // zod reports unknown keys once for all of them; name each one.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({
        path: prefix + formatPath([...issue.path, k]),
        message: 'unknown field',
      }));
    }
    const path = formatPath(issue.path);
    const message =
      issue.code === 'invalid_type' && issue.message.endsWith('received undefined')
        ? 'required'
        : issue.message;
    return [{ path: prefix + (path || '(body)'), message }];
  });
  // One message per field: a value can fail several checks at once (format and range); the first says enough.
  const seen = new Set<string>();
  const errors = all.filter((e) => {
    if (seen.has(e.path)) return false;
    seen.add(e.path);
    return true;
  });
  const first = errors[0];
  const summary = first ? `${first.path}: ${first.message}` : 'validation failed';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new FlowmeshError(target === 'json' ? 'invalid' : 'bad_request', `${summary}${more}`, { errors });
}
