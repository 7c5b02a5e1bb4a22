// A value stream (network file) as a LangGraph graph (agents/value-stream-nodes.ts builds it): one
// thread per work item (thread id = item id), each step routed through a port and waited for with
// interrupt(), resumed with Command({resume}) when the step completes. Steps completion policies
// require of a result are waited for the same way before the stream goes on.
import { type BaseCheckpointSaver, Command, type Interrupt } from '@langchain/langgraph';
import type { ValueStream } from '../capabilities/value-stream-schema.js';
import type { JsonObject } from '../work/json.js';
import { buildGraph, type StreamGraphState } from './value-stream-nodes.js';

/** One step to route: the router must treat `key` as idempotent (a restart may ask twice). */
export interface StepRequest {
  itemId: string;
  /** The stream step; for a required step, the stream step whose result required it. */
  stepId: string;
  capability: string;
  /** 1 on the first visit, 2 after the first rework… */
  visit: number;
  /**
   * `<step>#<visit>`: unique per item, the handle a completion names. A step a policy required of
   * that visit's result is `<step>#<visit>><rule id>`.
   */
  key: string;
  /** Set for a step a completion policy required: it answers `{approved, note?}`. */
  requirement?: Omit<PolicyRequirement, 'capability'>;
}

/** A step a completion policy required of a step's result, as the stream's port reports it. */
export interface PolicyRequirement {
  capability: string;
  ruleId: string;
  reason: string;
  policyVersion: string;
  /** The router step whose completion required it. */
  originStepId: string;
}

export interface StepDone {
  /** The step (or required step) whose result just resumed the thread. */
  request: StepRequest;
  result: unknown;
  /**
   * The step's `attributes` expression, if it has one, over its result and the item as it is now: the
   * attributes to add to the item (undefined when it gives no map).
   */
  attributes: ((item: StreamItem) => JsonObject | undefined) | undefined;
}

export interface ValueStreamPorts {
  /** Queues the step at its capability; its completion later calls `completeStep` with the key. */
  routeStep(request: StepRequest): Promise<void>;
  /**
   * After a step's result resumed the thread, before the stream decides where to go: adds the
   * attributes the step set, and returns the item as it is now (the conditions see it) and the steps
   * completion policies required of this result. Without it, conditions see the item as it started
   * and nothing is required.
   */
  stepDone?(done: StepDone): Promise<{ item: StreamItem; required: PolicyRequirement[] }>;
}

/** What the conditions see as `item`. */
export interface StreamItem {
  id: string;
  kind: string;
  attributes: Record<string, unknown>;
  priority?: number | undefined;
  payload?: unknown;
}

export interface TrailEntry {
  stepId: string;
  capability: string;
  visit: number;
  result: unknown;
  /** For a step a policy required: the rule that required it. */
  requiredBy?: string;
  /** Requirements of this result that the stream's next step met, being of the required capability. */
  coveredBy?: { ruleId: string; stepId: string }[];
}

export type ValueStreamStatus =
  | { itemId: string; state: 'not_started' }
  | { itemId: string; state: 'running'; waitingOn: StepRequest[]; trail: TrailEntry[] }
  | {
      itemId: string;
      state: 'ended';
      outcome: string;
      trail: TrailEntry[];
      results: Record<string, unknown>;
    };

export type CompleteStepResult =
  | { ok: true; status: ValueStreamStatus }
  /** The thread is not waiting on this key: already completed, never routed, or the stream ended. */
  | { ok: false; reason: 'not_waiting'; status: ValueStreamStatus };

export interface ValueStreamGraphOptions {
  checkpointer: BaseCheckpointSaver;
  ports: ValueStreamPorts;
}

export class ValueStreamGraph {
  readonly stream: ValueStream;
  readonly #graph;
  readonly #checkpointer: BaseCheckpointSaver;
  /** One resume at a time per thread in this process; parallel branches complete one after another. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(stream: ValueStream, options: ValueStreamGraphOptions) {
    this.stream = stream;
    this.#checkpointer = options.checkpointer;
    this.#graph = buildGraph(stream, options.ports).compile({ checkpointer: options.checkpointer });
  }

  /** Starts the item's thread; starting an item that already has a thread returns its status. */
  async start(item: StreamItem): Promise<ValueStreamStatus> {
    return this.#exclusive(item.id, async () => {
      const current = await this.#status(item.id);
      if (current.state !== 'not_started') return current;
      await this.#graph.invoke({ item }, this.#config(item.id));
      return this.#status(item.id);
    });
  }

  /** Resumes the thread with the result of the step named by `key`. */
  async completeStep(itemId: string, key: string, result: unknown): Promise<CompleteStepResult> {
    return this.#exclusive(itemId, async () => {
      const snapshot = await this.#graph.getState(this.#config(itemId));
      const pending = openInterrupts(snapshot.tasks);
      const match = pending.find((i) => (i.value as StepRequest | undefined)?.key === key);
      if (!match?.id)
        return { ok: false as const, reason: 'not_waiting' as const, status: await this.#status(itemId) };
      await this.#graph.invoke(new Command({ resume: { [match.id]: result } }), this.#config(itemId));
      return { ok: true as const, status: await this.#status(itemId) };
    });
  }

  /**
   * After a restart: a thread that stopped between nodes (a crash after a checkpoint, before the next
   * interrupt) runs on to its next interrupt. Threads already waiting are left as they are.
   */
  async recover(itemId: string): Promise<ValueStreamStatus> {
    return this.#exclusive(itemId, async () => {
      const snapshot = await this.#graph.getState(this.#config(itemId));
      const waiting = openInterrupts(snapshot.tasks).length > 0;
      if (snapshot.next.length > 0 && !waiting) await this.#graph.invoke(null, this.#config(itemId));
      return this.#status(itemId);
    });
  }

  status(itemId: string): Promise<ValueStreamStatus> {
    return this.#status(itemId);
  }

  /** Forgets an item's thread (its checkpoints); for items that are deleted. */
  async forget(itemId: string): Promise<void> {
    await this.#checkpointer.deleteThread(itemId);
  }

  async #status(itemId: string): Promise<ValueStreamStatus> {
    const snapshot = await this.#graph.getState(this.#config(itemId));
    const values = snapshot.values as Partial<StreamGraphState>;
    if (!values.item) return { itemId, state: 'not_started' };
    const trail = values.trail ?? [];
    if (snapshot.next.length === 0) {
      return {
        itemId,
        state: 'ended',
        outcome: values.outcome ?? 'completed',
        trail,
        results: values.results ?? {},
      };
    }
    const waitingOn = openInterrupts(snapshot.tasks)
      .map((i) => i.value as StepRequest)
      .sort((a, b) => a.key.localeCompare(b.key));
    return { itemId, state: 'running', waitingOn, trail };
  }

  #config(itemId: string) {
    return { configurable: { thread_id: itemId } };
  }

  async #exclusive<T>(itemId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(itemId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.#locks.set(itemId, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(itemId) === settled) this.#locks.delete(itemId);
    }
  }
}

/**
 * Interrupts of tasks that are still waiting. In a superstep with parallel branches, a branch that was
 * resumed keeps its old interrupt in the snapshot next to its output until the superstep ends.
 */
function openInterrupts(tasks: readonly { interrupts: Interrupt[]; result?: unknown }[]): Interrupt[] {
  return tasks.filter((t) => t.result === undefined).flatMap((t) => t.interrupts);
}
