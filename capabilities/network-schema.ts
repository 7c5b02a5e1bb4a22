// The network file: capabilities and the nodes that provide them. Validated as a whole, so a bad file
// is refused with the path inside it and the reason.
import { z } from 'zod';
import { JsonObjectSchema } from '../work/json.js';
import { CapabilityIdSchema } from '../work/work-item.js';
import { conditionEnvironment, ValueStreamSchema, validateValueStream } from './value-stream-schema.js';

export const NODE_KINDS = ['human_team', 'self_service', 'ai_agent'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];
export const AVAILABILITIES = ['available', 'away', 'draining'] as const;
export type Availability = (typeof AVAILABILITIES)[number];

export const NodeIdSchema = z
  .string()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'node ids use a-z, 0-9, "_", "-" and "."');

/** A fallback tier: after the step waited `afterSeconds`, these nodes may claim it too. */
export const FallbackSchema = z.strictObject({
  afterSeconds: z
    .int()
    .min(1)
    .max(30 * 24 * 3600),
  nodes: z.array(NodeIdSchema).min(1),
});

export const CapabilitySchema = z.strictObject({
  id: CapabilityIdSchema,
  description: z.string().max(1000).default(''),
  /** JSON Schema of the step's input (the item's payload), for agents and docs. */
  inputSchema: JsonObjectSchema.optional(),
  maxAttempts: z.int().min(1).max(100).default(3),
  /** Seconds a claim's lease lasts before the step returns to the queue (heartbeats extend it). */
  leaseSeconds: z
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(300),
  fallbacks: z.array(FallbackSchema).default([]),
});
export type Capability = z.infer<typeof CapabilitySchema>;

export const NodeCapabilitySchema = z.strictObject({
  capability: CapabilityIdSchema,
  proficiency: z.number().min(0).max(1).default(1),
});

export const McpTargetSchema = z.strictObject({
  url: z.url(),
  tool: z.string().min(1).max(128),
});

export const NodeSchema = z
  .strictObject({
    id: NodeIdSchema,
    name: z.string().min(1).max(200),
    kind: z.enum(NODE_KINDS),
    capabilities: z.array(NodeCapabilitySchema).min(1),
    capacity: z.int().min(1).max(100_000),
    mode: z.enum(['pull', 'push']).default('pull'),
    availability: z.enum(AVAILABILITIES).default('available'),
    /** Push nodes: the webhook flowmesh POSTs steps to. */
    endpoint: z.url().optional(),
    /** Push agents: a tool on the agent's own MCP server. */
    mcp: McpTargetSchema.optional(),
    /** Seconds flowmesh waits for a push node to answer. */
    timeoutSeconds: z.int().min(1).max(3600).default(30),
    attributes: JsonObjectSchema.default({}),
  })
  .superRefine((node, ctx) => {
    if (node.mode === 'push' && !node.endpoint && !node.mcp) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'a push node needs an endpoint or an mcp target',
      });
    }
    const seen = new Set<string>();
    node.capabilities.forEach((c, i) => {
      if (seen.has(c.capability)) {
        ctx.addIssue({
          code: 'custom',
          path: ['capabilities', i, 'capability'],
          message: `${c.capability} is listed twice`,
        });
      }
      seen.add(c.capability);
    });
  });
export type NetworkNode = z.infer<typeof NodeSchema>;

export const NetworkSchema = z
  .strictObject({
    capabilities: z.array(CapabilitySchema).min(1),
    nodes: z.array(NodeSchema).default([]),
    /** Multi-step kinds; a kind without a stream is a single step, as the item names it. */
    valueStreams: z.array(ValueStreamSchema).default([]),
  })
  .superRefine((net, ctx) => {
    const caps = new Set<string>();
    net.capabilities.forEach((c, i) => {
      if (caps.has(c.id))
        ctx.addIssue({
          code: 'custom',
          path: ['capabilities', i, 'id'],
          message: `duplicate capability id ${c.id}`,
        });
      caps.add(c.id);
    });
    const nodes = new Set<string>();
    net.nodes.forEach((n, i) => {
      if (nodes.has(n.id))
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'id'], message: `duplicate node id ${n.id}` });
      nodes.add(n.id);
      n.capabilities.forEach((c, j) => {
        if (!caps.has(c.capability)) {
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', i, 'capabilities', j, 'capability'],
            message: `unknown capability ${c.capability} (declare it under capabilities)`,
          });
        }
      });
    });
    net.capabilities.forEach((c, i) => {
      c.fallbacks.forEach((f, j) => {
        f.nodes.forEach((id, k) => {
          if (!nodes.has(id)) {
            ctx.addIssue({
              code: 'custom',
              path: ['capabilities', i, 'fallbacks', j, 'nodes', k],
              message: `unknown node ${id}`,
            });
          }
        });
      });
    });
    const kinds = new Set<string>();
    const env = conditionEnvironment();
    net.valueStreams.forEach((v, i) => {
      if (kinds.has(v.kind)) {
        ctx.addIssue({
          code: 'custom',
          path: ['valueStreams', i, 'kind'],
          message: `duplicate stream for ${v.kind}`,
        });
      }
      kinds.add(v.kind);
      for (const issue of validateValueStream(v, caps, env)) {
        ctx.addIssue({ code: 'custom', path: ['valueStreams', i, ...issue.path], message: issue.message });
      }
    });
  });
export type Network = z.infer<typeof NetworkSchema>;
