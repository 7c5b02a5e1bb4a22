// Runs the network's value streams for the router: one ValueStreamGraph per kind on the store's
// checkpointer. Starts an item's thread after submission, resumes it when a step completes, finishes
// the item when the stream ends, and after a restart takes every open streamed item on from its
// checkpoint (including completions that committed just before the process stopped). Every move of a
// thread is one turn of its item (agents/item-turn.ts): serialized across instances, and atomic.
import type { Core } from '../capabilities/core.js';
import type { ValueStream } from '../capabilities/value-stream-schema.js';
import {
  addStreamAttributes,
  finishStreamItem,
  routeStreamStep,
  type StreamHook,
} from '../capabilities/value-streams.js';
import { findDeferredRequirements } from '../store/decisions.js';
import {
  findOpenStreamedItemIds,
  findStreamStepKey,
  findStreamStepOutcome,
  itemFollowsStream,
} from '../store/stream-steps.js';
import { findWorkItem } from '../store/work-items.js';
import { FlowmeshError } from '../work/errors.js';
import type { JsonValue } from '../work/json.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import { StoreCheckpointSaver } from './checkpointer.js';
import { createItemTurns } from './item-turn.js';
import {
  type StreamItem,
  ValueStreamGraph,
  type ValueStreamPorts,
  type ValueStreamStatus,
} from './value-stream-graph.js';

export interface ValueStreamDriver extends StreamHook {
  /** Takes every open item of a streamed kind on from its checkpoint; returns how many it looked at. */
  recover(): Promise<number>;
  /** The thread's status, for reads and tests. */
  status(item: Pick<WorkItemRecord, 'id' | 'kind'>): Promise<ValueStreamStatus | undefined>;
}

function streamItem(item: WorkItemRecord): StreamItem {
  return {
    id: item.id,
    kind: item.kind,
    attributes: item.attributes as Record<string, unknown>,
    priority: item.priority,
    payload: item.payload,
  };
}

export function createValueStreamDriver(core: Core, streams: readonly ValueStream[]): ValueStreamDriver {
  const turns = createItemTurns(core);
  const checkpointer = new StoreCheckpointSaver(turns.store);

  const ports: ValueStreamPorts = {
    async routeStep(request) {
      const turn = turns.current();
      const out = await routeStreamStep(core, turn.tx, {
        itemId: request.itemId,
        key: request.key,
        capability: request.capability,
        requirement: request.requirement,
      });
      turn.routed.push(...out.routed);
    },

    async stepDone({ request, attributes }) {
      const { tx } = turns.current();
      let item = await findWorkItem(tx, request.itemId, { forUpdate: attributes !== undefined });
      if (!item) throw new FlowmeshError('not_found', `work item ${request.itemId} does not exist`);
      const added = attributes?.(streamItem(item));
      if (added) item = await addStreamAttributes(core, tx, item, added, request.key);
      // The router step that answered (after handoffs, the last one) and what its completion required.
      const answered = await findStreamStepOutcome(core.store, tx, request.itemId, request.key);
      const required = answered
        ? await findDeferredRequirements(core.store, tx, request.itemId, answered.stepId)
        : [];
      const originStepId = request.requirement?.originStepId ?? answered?.stepId ?? '';
      return { item: streamItem(item), required: required.map((r) => ({ ...r, originStepId })) };
    },
  };

  const graphs = new Map<string, ValueStreamGraph>();
  const starts = new Map<string, { capability: string; key: string }>();
  for (const stream of streams) {
    const graph = new ValueStreamGraph(stream, { checkpointer, ports });
    graphs.set(stream.kind, graph);
    const start = stream.start ?? stream.steps[0]!.id;
    const capability = stream.steps.find((s) => s.id === start)!.capability;
    starts.set(stream.kind, { capability, key: `${start}#1` });
  }

  async function settle(itemId: string, status: ValueStreamStatus): Promise<void> {
    if (status.state !== 'ended') return;
    const turn = turns.current();
    if (await finishStreamItem(core, turn.tx, itemId, status.outcome, status.results))
      turn.ended.push(itemId);
  }

  /**
   * Feeds the thread the results of steps it waits on that have already completed: a completion that
   * committed before the thread reached its wait (the first step, claimed at once), a required step
   * answered before the one its gate waits on, or one that committed just before a restart.
   */
  async function catchUp(graph: ValueStreamGraph, itemId: string, status: ValueStreamStatus) {
    const { tx } = turns.current();
    let current = status;
    for (let guard = 0; guard < 1000 && current.state === 'running'; guard++) {
      let resumed = false;
      for (const waiting of current.waitingOn) {
        const outcome = await findStreamStepOutcome(core.store, tx, itemId, waiting.key);
        if (outcome?.state !== 'completed') continue;
        const r = await graph.completeStep(itemId, waiting.key, outcome.result);
        current = r.status;
        resumed = r.ok;
        break;
      }
      if (!resumed) break;
    }
    return current;
  }

  return {
    firstStep(kind) {
      return starts.get(kind);
    },

    follows(db, itemId) {
      return itemFollowsStream(core.store, db, itemId);
    },

    async submitted(item) {
      const graph = graphs.get(item.kind);
      if (!graph) return;
      await turns.run(item.id, async () => {
        const status = await graph.start(streamItem(item));
        await settle(item.id, await catchUp(graph, item.id, status));
      });
    },

    async stepCompleted(item: WorkItemRecord, step: StepRecord, result: JsonValue | null) {
      const graph = graphs.get(item.kind);
      if (!graph) return;
      await turns.run(item.id, async ({ tx }) => {
        const key = await findStreamStepKey(core.store, tx, step.id);
        let status = key
          ? (await graph.completeStep(item.id, key, result)).status
          : await graph.status(item.id);
        // Not started yet (its start is still on the way): start it here, and catch up on this result
        // below. Starting twice is harmless.
        if (status.state === 'not_started') status = await graph.start(streamItem(item));
        await settle(item.id, await catchUp(graph, item.id, status));
      });
    },

    async recover() {
      const ids = await findOpenStreamedItemIds(core.store);
      for (const id of ids) {
        try {
          await turns.run(id, async ({ tx }) => {
            const item = await findWorkItem(tx, id);
            const graph = item ? graphs.get(item.kind) : undefined;
            if (item?.state !== 'open' || !graph) return;
            let status = await graph.recover(id);
            if (status.state === 'not_started') status = await graph.start(streamItem(item));
            await settle(id, await catchUp(graph, id, status));
          });
        } catch (error) {
          core.logger.warn('value stream recovery failed', { workItemId: id, error: String(error) });
        }
      }
      return ids.length;
    },

    async status(item) {
      return graphs.get(item.kind)?.status(item.id);
    },
  };
}
