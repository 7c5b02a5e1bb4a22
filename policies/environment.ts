// The declared CEL environment rules are checked against: which variables exist at which hook and
// their fields. Values are handed to CEL as instances of small classes so no conversion runs per evaluation.
import { Environment } from '@marcbachmann/cel-js';
import type { JsonObject, JsonValue } from '../work/json.js';
import type { Hook } from './rule-schema.js';

/** The work item as rules see it. */
export class PolicyItem {
  constructor(
    readonly kind: string,
    readonly attributes: JsonObject,
    readonly priority: bigint,
    readonly title: string,
    readonly dueAt: Date | null,
  ) {}
}

/** A candidate node (route) or the node that completed the step (complete). */
export class PolicyNode {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly kind: string,
    readonly capabilities: string[],
    readonly attributes: JsonObject,
  ) {}
}

export class PolicyStep {
  constructor(
    readonly capability: string,
    readonly attempt: bigint,
  ) {}
}

/** Parse-time bounds: an expression is small, shallow and cannot be made expensive by its author. */
export const EXPRESSION_LIMITS = {
  maxAstNodes: 400,
  maxDepth: 32,
  maxListElements: 200,
  maxMapEntries: 200,
  maxCallArguments: 8,
};

/** Variables per hook; `whenOnly` are the variables of a route rule's node-independent `when`. */
export const VARIABLES: Record<Hook | 'route-when', readonly string[]> = {
  admit: ['item', 'now'],
  'route-when': ['item', 'step', 'now'],
  route: ['item', 'step', 'node', 'now'],
  complete: ['item', 'step', 'node', 'result', 'confidence', 'now'],
};

export const VARIABLE_DOCS: Record<string, string> = {
  item: 'the work item: kind (string), attributes (map), priority (int), title (string), dueAt (timestamp or null)',
  node: 'route: the candidate node; complete: the node that completed the step — id, name, kind, capabilities (list of strings), attributes (map)',
  step: 'the step: capability (string), attempt (int)',
  result: 'complete: the result the node reported (any JSON)',
  confidence:
    'complete: the confidence (0..1) the node reported with its result; unset is an error, so a rule reading it fails closed',
  now: 'the time of the decision (timestamp)',
};

function baseEnvironment(): Environment {
  return new Environment({ limits: EXPRESSION_LIMITS, homogeneousAggregateLiterals: false })
    .registerType('flowmesh.Item', {
      ctor: PolicyItem,
      fields: {
        kind: 'string',
        attributes: 'map<string, dyn>',
        priority: 'int',
        title: 'string',
        dueAt: 'dyn',
      },
    })
    .registerType('flowmesh.Node', {
      ctor: PolicyNode,
      fields: {
        id: 'string',
        name: 'string',
        kind: 'string',
        capabilities: 'list<string>',
        attributes: 'map<string, dyn>',
      },
    })
    .registerType('flowmesh.Step', { ctor: PolicyStep, fields: { capability: 'string', attempt: 'int' } });
}

const TYPES: Record<string, string> = {
  item: 'flowmesh.Item',
  node: 'flowmesh.Node',
  step: 'flowmesh.Step',
  result: 'dyn',
  confidence: 'double',
  now: 'google.protobuf.Timestamp',
};

export type PolicyEnvironments = Record<Hook | 'route-when', Environment>;

/** One environment per hook (building one costs about a millisecond, so a policy set builds them once). */
export function createEnvironments(): PolicyEnvironments {
  const out = {} as PolicyEnvironments;
  for (const [hook, names] of Object.entries(VARIABLES) as [Hook | 'route-when', readonly string[]][]) {
    const env = baseEnvironment();
    for (const name of names) env.registerVariable(name, TYPES[name]!);
    out[hook] = env;
  }
  return out;
}

export interface ItemFacts {
  kind: string;
  attributes: JsonObject;
  priority: number;
  title?: string | null | undefined;
  dueAt?: Date | string | null | undefined;
}

export interface NodeFacts {
  id: string;
  name?: string | undefined;
  kind: string;
  capabilities: readonly (string | { capability: string })[];
  attributes?: JsonObject | undefined;
}

export interface StepFacts {
  capability: string;
  attempt: number;
}

export function policyItem(item: ItemFacts): PolicyItem {
  const due = item.dueAt == null ? null : new Date(item.dueAt);
  return new PolicyItem(item.kind, item.attributes, BigInt(item.priority), item.title ?? '', due);
}

export function policyNode(node: NodeFacts): PolicyNode {
  return new PolicyNode(
    node.id,
    node.name ?? node.id,
    node.kind,
    node.capabilities.map((c) => (typeof c === 'string' ? c : c.capability)),
    node.attributes ?? {},
  );
}

export function policyStep(step: StepFacts): PolicyStep {
  return new PolicyStep(step.capability, BigInt(step.attempt));
}

/** CEL values back to JSON for explanations: bigints become numbers, dates ISO strings. */
export function celToJson(value: unknown): JsonValue {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (value === undefined) return null;
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), celToJson(v)]));
  if (Array.isArray(value)) return value.map(celToJson);
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celToJson(v)]));
  }
  return value as JsonValue;
}
