// Tools that read the network and work items or create work: the same core functions as GET
// /v1/capabilities-style reads, POST /v1/work-items and GET /v1/work-items/{id}.
import { z } from 'zod';
import { listCapabilitiesFor } from '../../../capabilities/catalog.js';
import { getWorkItem, submitWorkItem } from '../../../capabilities/work-items.js';
import { FlowmeshError } from '../../../work/errors.js';
import type { Principal, Role } from '../../../work/principal.js';
import { SubmitWorkItemSchema, type WorkItem, WorkItemSchema } from '../../../work/work-item.js';
import { defineTool } from '../tool.js';

/** The same role rule as the HTTP route's requireRole (admins always pass). */
export function assertRole(principal: Principal, ...roles: Role[]): void {
  if (principal.role !== 'admin' && !roles.includes(principal.role)) {
    throw new FlowmeshError(
      'forbidden',
      `this tool needs one of the roles ${['admin', ...roles].join(', ')}; the key has role ${principal.role}`,
    );
  }
}

export const WorkItemIdSchema = z.uuid('must be a work item id (a UUID)');

const CapabilityViewSchema = z.object({
  id: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()).nullable(),
  leaseSeconds: z.int(),
  maxAttempts: z.int(),
  queueDepth: z.int(),
  proficiency: z.number().nullable(),
  claimable: z.boolean(),
});

export const CapabilityCatalogSchema = z.object({
  node: z
    .object({
      id: z.string(),
      name: z.string(),
      kind: z.string(),
      capacity: z.int(),
      mode: z.string(),
      availability: z.string(),
    })
    .nullable(),
  capabilities: z.array(CapabilityViewSchema),
});

export const listCapabilitiesTool = defineTool({
  name: 'list_capabilities',
  title: 'List capabilities',
  description:
    'Every capability of the network with its input schema, lease length and queue depth; claimable marks ' +
    'the ones claim_work can give your node, proficiency how well your node does them.',
  input: z.strictObject({}),
  output: CapabilityCatalogSchema,
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(ctx) {
    const catalog = await listCapabilitiesFor(ctx.core, ctx.principal);
    const mine = catalog.capabilities.filter((c) => c.claimable).map((c) => c.id);
    return {
      structured: catalog,
      text: catalog.node
        ? `${catalog.capabilities.length} capabilities; node ${catalog.node.id} may claim ${mine.join(', ') || 'nothing'}.`
        : `${catalog.capabilities.length} capabilities; this key is bound to no node.`,
    };
  },
});

export const submitWorkTool = defineTool({
  name: 'submit_work',
  title: 'Submit work',
  description:
    'Create a work item for another capability (it goes through the admission policies, like POST ' +
    '/v1/work-items). Send idempotency_key to make retries safe.',
  input: SubmitWorkItemSchema.extend({
    idempotency_key: z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 printable ASCII characters')
      .optional(),
  }),
  output: z.object({ item: WorkItemSchema, replayed: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(ctx, args) {
    assertRole(ctx.principal, 'operator', 'submitter', 'agent');
    const { idempotency_key: idempotencyKey, ...input } = args;
    const outcome = await submitWorkItem(ctx.core, ctx.principal, input, {
      idempotencyKey,
      traceparent: ctx.traceparent,
    });
    const item = outcome.kind === 'created' ? outcome.item : (outcome.body as WorkItem);
    return {
      structured: { item, replayed: outcome.kind === 'replayed' },
      text:
        outcome.kind === 'created'
          ? `Submitted work item ${item.id} (${item.kind}).`
          : `Work item ${item.id} was already submitted with this idempotency key.`,
    };
  },
});

export const getWorkItemTool = defineTool({
  name: 'get_work_item',
  title: 'Read a work item',
  description: 'A work item with its steps: only items your node holds or held, or that you submitted.',
  input: z.strictObject({ work_item_id: WorkItemIdSchema }),
  output: z.object({ item: WorkItemSchema }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(ctx, args) {
    const item = await getWorkItem(ctx.core, ctx.principal, args.work_item_id);
    return {
      structured: { item },
      text: `Work item ${item.id} is ${item.state} (${item.steps.length} steps).`,
    };
  },
});
