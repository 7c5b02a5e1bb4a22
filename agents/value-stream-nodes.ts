// The nodes of a value stream's LangGraph graph. Each step is three nodes: `route_<step>` hands the
// step to the router through a port, once per visit; `wait_<step>` waits with interrupt() until the
// step's result resumes the thread, then reads the item as it is now, decides the edge (CEL over
// `result` and `item`, compiled once here) and routes the steps completion policies required of that
// result; `gate_<step>` waits for each of those with interrupt() before the stream goes on. Rework
// edges are counted; parallel branches join.
import { Annotation, END, interrupt, START, StateGraph } from '@langchain/langgraph';
import type { Environment } from '@marcbachmann/cel-js';
import {
  conditionEnvironment,
  type Edge,
  edgesOf,
  type StreamStep,
  targetsOf,
  type ValueStream,
} from '../capabilities/value-stream-schema.js';
import { approvalOf } from '../work/decision.js';
import { FlowmeshError } from '../work/errors.js';
import type { JsonObject, JsonValue } from '../work/json.js';
import type {
  PolicyRequirement,
  StepRequest,
  StreamItem,
  TrailEntry,
  ValueStreamPorts,
} from './value-stream-graph.js';

const merge = <T>(a: Record<string, T>, b: Record<string, T>): Record<string, T> => ({ ...a, ...b });
const END_MARK = '__end__';

const StreamState = Annotation.Root({
  item: Annotation<StreamItem>(),
  results: Annotation<Record<string, unknown>>({ reducer: merge, default: () => ({}) }),
  visits: Annotation<Record<string, number>>({ reducer: merge, default: () => ({}) }),
  edgeCounts: Annotation<Record<string, number>>({ reducer: merge, default: () => ({}) }),
  decisions: Annotation<Record<string, string[]>>({ reducer: merge, default: () => ({}) }),
  trail: Annotation<TrailEntry[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  /** Per stream step: the required steps its gate waits for before the stream goes on. */
  pending: Annotation<Record<string, StepRequest[]>>({ reducer: merge, default: () => ({}) }),
  outcome: Annotation<string | undefined>(),
});
export type StreamGraphState = typeof StreamState.State;
type State = StreamGraphState;

type Condition = (vars: { result: unknown; item: StreamItem }) => boolean;

function compileCondition(env: Environment, source: string): Condition {
  const evaluate = env.parse(source);
  // A condition that cannot be evaluated (a missing field, a type mismatch) is not taken: the stream's
  // default edge applies. Stream authors make the default the safe way on.
  return (vars) => {
    try {
      return evaluate(vars as unknown as Record<string, unknown>) === true;
    } catch {
      return false;
    }
  };
}

type AttributesOf = (vars: { result: unknown; item: StreamItem }) => JsonObject | undefined;

function compileAttributes(env: Environment, source: string): AttributesOf {
  const evaluate = env.parse(source);
  // Like a condition, an expression that cannot be evaluated (the result has no attributes) sets nothing.
  return (vars) => {
    try {
      const value = toJson(evaluate(vars as unknown as Record<string, unknown>));
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
}

/** CEL values as JSON: integers are bigints and maps may be Maps. */
function toJson(value: unknown): JsonValue {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Map) return toJson(Object.fromEntries(value));
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value as JsonValue;
}

interface CompiledEdge {
  edge: Edge;
  key: string;
  when: Condition | undefined;
}

const routeNode = (id: string) => `route_${id}`;
const waitNode = (id: string) => `wait_${id}`;
const gateNode = (id: string) => `gate_${id}`;

export function buildGraph(stream: ValueStream, ports: ValueStreamPorts) {
  const env = conditionEnvironment();
  const byId = new Map(stream.steps.map((s) => [s.id, s]));
  const joinOf = new Map<string, string>();
  for (const s of stream.steps) for (const id of s.join ?? []) joinOf.set(id, s.id);
  const edges = new Map<string, CompiledEdge[]>(
    stream.steps.map((s) => [
      s.id,
      edgesOf(s).map((edge, i) => ({
        edge,
        key: `${s.id}>${i}`,
        when: edge.when === undefined ? undefined : compileCondition(env, edge.when),
      })),
    ]),
  );
  const attributesOf = new Map(
    stream.steps.flatMap((s) =>
      s.attributes ? [[s.id, compileAttributes(env, s.attributes)] as const] : [],
    ),
  );
  const start = stream.start ?? stream.steps[0]?.id;
  if (!start || !byId.has(start)) {
    throw new FlowmeshError('invalid', `value stream ${stream.kind} has no start step`);
  }

  /** Where the stream goes after a step's gate: the stream steps of the decided edge, or END. */
  const onward = (id: string) => (state: State) =>
    (state.decisions[id] ?? [END_MARK]).map((t) => (t === END_MARK ? END : routeNode(t)));

  // biome-ignore lint/suspicious/noExplicitAny: node names are computed, so the builder's name type is too
  const graph = new StateGraph(StreamState) as unknown as StateGraph<any, any, any, string>;

  for (const step of stream.steps) {
    graph.addNode(routeNode(step.id), async (state: State) => {
      const visit = (state.visits[step.id] ?? 0) + 1;
      await ports.routeStep(requestFor(state.item.id, step, visit));
      return { visits: { [step.id]: visit } };
    });

    graph.addNode(waitNode(step.id), async (state: State) => {
      const visit = state.visits[step.id] ?? 1;
      const request = requestFor(state.item.id, step, visit);
      const result = interrupt<StepRequest, unknown>(request);
      // The item as it is now: attributes set by this step or earlier ones reach the conditions.
      const setter = attributesOf.get(step.id);
      const attributes = setter ? (item: StreamItem) => setter({ result, item }) : undefined;
      const done = ports.stepDone
        ? await ports.stepDone({ request, result, attributes })
        : { item: state.item, required: [] };
      const item = done.item;
      const update: Partial<State> = { results: { [step.id]: result } };
      const entry: TrailEntry = { stepId: step.id, capability: step.capability, visit, result };
      let next: string[];
      const list = edges.get(step.id) ?? [];
      if (list.length === 0) {
        const join = joinOf.get(step.id);
        next = join ? [join] : [];
        if (!join) update.outcome = 'completed';
      } else {
        const taken = list.find(
          (e) =>
            (e.edge.max === undefined || (state.edgeCounts[e.key] ?? 0) < e.edge.max) &&
            (e.when === undefined || e.when({ result, item })),
        );
        // Validation makes the last edge unconditional and unbounded, so one is always taken.
        if (!taken) {
          throw new FlowmeshError('internal', `value stream ${stream.kind}: no edge from ${step.id}`);
        }
        if (taken.edge.max !== undefined) {
          update.edgeCounts = { [taken.key]: (state.edgeCounts[taken.key] ?? 0) + 1 };
        }
        if (taken.edge.end !== undefined) {
          update.outcome = taken.edge.end;
          update.decisions = { [step.id]: [END_MARK] };
          next = [];
        } else {
          next = targetsOf(taken.edge);
          update.decisions = { [step.id]: next };
        }
      }
      const { covered, pending } = splitRequired(request, done.required, next, byId);
      // Routed here, once, all at once; the gate waits for them.
      for (const r of pending) await ports.routeStep(r);
      if (covered.length > 0) entry.coveredBy = covered;
      update.trail = [entry];
      update.pending = { [step.id]: pending };
      return update;
    });

    // Waits for the answers of the required steps one after another (one that comes out of turn is
    // fed in by the driver once the gate reaches it). Not approved: the item was rejected when that
    // answer committed, and the stream ends `rejected`.
    graph.addNode(gateNode(step.id), async (state: State) => {
      const queue = [...(state.pending[step.id] ?? [])];
      const join = joinOf.get(step.id);
      const next = join ? [join] : (state.decisions[step.id] ?? []).filter((t) => t !== END_MARK);
      const trail: TrailEntry[] = [];
      for (let i = 0; i < queue.length; i++) {
        const request = queue[i]!;
        const answer = interrupt<StepRequest, unknown>(request);
        const entry: TrailEntry = {
          stepId: request.stepId,
          capability: request.capability,
          visit: request.visit,
          result: answer,
          requiredBy: request.requirement?.ruleId ?? 'unknown',
        };
        trail.push(entry);
        if (approvalOf(answer)?.approved === false) {
          return { trail, outcome: 'rejected', decisions: { [step.id]: [END_MARK] } };
        }
        // The answer's own completion may require more (a rule requires at most once per item).
        if (ports.stepDone) {
          const more = await ports.stepDone({ request, result: answer, attributes: undefined });
          const { covered, pending } = splitRequired(request, more.required, next, byId);
          for (const r of pending) await ports.routeStep(r);
          if (covered.length > 0) entry.coveredBy = covered;
          queue.push(...pending);
        }
      }
      return { trail };
    });

    graph.addEdge(routeNode(step.id), waitNode(step.id));
  }

  graph.addEdge(START, routeNode(start));
  for (const step of stream.steps) {
    if (step.join) graph.addEdge(step.join.map(gateNode), routeNode(step.id));
    if (joinOf.has(step.id)) {
      // A branch always passes its gate, so the join waits for the branch's required steps too.
      graph.addEdge(waitNode(step.id), gateNode(step.id));
      continue;
    }
    const destinations = [...new Set((edges.get(step.id) ?? []).flatMap((e) => targetsOf(e.edge)))].map(
      routeNode,
    );
    const next = onward(step.id);
    graph.addConditionalEdges(
      waitNode(step.id),
      (state: State) => ((state.pending[step.id]?.length ?? 0) > 0 ? [gateNode(step.id)] : next(state)),
      [gateNode(step.id), ...destinations, END],
    );
    graph.addConditionalEdges(gateNode(step.id), next, [...destinations, END]);
  }
  return graph;
}

function requestFor(itemId: string, step: StreamStep, visit: number): StepRequest {
  return { itemId, stepId: step.id, capability: step.capability, visit, key: `${step.id}#${visit}` };
}

/**
 * A requirement is met by the stream's own step only when the stream goes on to a step of that
 * capability now (`next`); otherwise it is a required step the gate waits for before the stream goes on.
 */
function splitRequired(
  after: StepRequest,
  required: readonly PolicyRequirement[],
  next: readonly string[],
  byId: ReadonlyMap<string, StreamStep>,
): { covered: NonNullable<TrailEntry['coveredBy']>; pending: StepRequest[] } {
  const covered: NonNullable<TrailEntry['coveredBy']> = [];
  const pending: StepRequest[] = [];
  for (const r of required) {
    const by = next.find((id) => byId.get(id)?.capability === r.capability);
    if (by) covered.push({ ruleId: r.ruleId, stepId: by });
    else pending.push(requiredRequest(after, r));
  }
  return { covered, pending };
}

/** The required step a policy asked for after `after`'s result; keyed by rule (once per rule). */
function requiredRequest(after: StepRequest, r: PolicyRequirement): StepRequest {
  const { capability, ...requirement } = r;
  return {
    itemId: after.itemId,
    stepId: after.stepId,
    capability,
    visit: after.visit,
    key: `${after.stepId}#${after.visit}>${r.ruleId}`,
    requirement,
  };
}
