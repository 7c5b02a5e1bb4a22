// OpenAPI-registered schemas shared by the routes: the work-item shapes of work/ plus problem details.
// zod 4 copies methods onto each schema when it is built, so schemas made in work/ (before
// @hono/zod-openapi extended zod) are cloned here to gain `.openapi()`; validation is unchanged.
import { z } from '@hono/zod-openapi';
import { StepSchema, SubmitWorkItemSchema, WorkItemSchema } from '../work/work-item.js';

export const SubmitWorkItemBody = SubmitWorkItemSchema.clone().openapi('SubmitWorkItem', {
  example: {
    kind: 'refund',
    title: 'Refund order 1042',
    capability: 'refund.assess',
    payload: { orderId: '1042', reason: 'arrived damaged' },
    attributes: { amount: 129.9, customerTier: 'standard', pii: false },
    priority: 60,
  },
});

export const StepView = StepSchema.clone().openapi('Step');
export const WorkItemView = WorkItemSchema.clone().openapi('WorkItem');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const IdParam = z.object({
  id: z
    .uuid('must be a UUID')
    .openapi({ param: { name: 'id', in: 'path' }, example: '01934b5e-8f7a-7c3e-9d2a-5b1e4f6a7c8d' }),
});

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** The error responses every authenticated route can give. */
export const commonErrors = {
  400: problem('Malformed request (bad JSON, bad query or path parameter)'),
  401: problem('Missing or invalid API key'),
  403: problem('The key may not do this'),
  413: problem('Body larger than the limit'),
  415: problem('Body is not JSON'),
  422: problem('Body failed validation; `errors` names each field'),
} as const;

export { problem as problemResponseSpec };
