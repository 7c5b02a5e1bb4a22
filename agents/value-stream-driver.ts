// Runs the network's value streams for the router: one ValueStreamGraph per kind on the store's
// checkpointer. Starts an item's thread after submission, resumes it when a step completes, finishes
// the item when the stream ends, and after a restart takes every open streamed item on from its
// checkpoint (including completions that committed just before the process stopped).
import type { Core } from '../capabilities/core.js';
import type { ValueStream } from '../capabilities/value-stream-schema.js';
import { finishStreamItem, routeStreamStep, type StreamHook } from '../capabilities/value-streams.js';
import {
  findOpenStreamedItemIds,
  findStepOutcome,
  findStreamStepId,
  findStreamStepKey,
  itemFollowsStream,
} from '../store/stream-steps.js';
import { findWorkItem } from '../store/work-items.js';
import type { JsonValue } from '../work/json.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import { StoreCheckpointSaver } from './checkpointer.js';
import { type StreamItem, ValueStreamGraph, type ValueStreamStatus } from './value-stream-graph.js';

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
  const checkpointer = new StoreCheckpointSaver(core.store);
  const graphs = new Map<string, ValueStreamGraph>();
  const starts = new Map<string, string>();
  for (const stream of streams) {
    const start = stream.start ?? stream.steps[0]!.id;
    starts.set(stream.kind, start);
    graphs.set(
      stream.kind,
      new ValueStreamGraph(stream, {
        checkpointer,
        ports: {
          async routeStep(request) {
            await routeStreamStep(core, {
              itemId: request.itemId,
              key: request.key,
              capability: request.capability,
              first: request.stepId === start && request.visit === 1,
            });
          },
        },
      }),
    );
  }

  async function settle(itemId: string, status: ValueStreamStatus): Promise<void> {
    if (status.state === 'ended') await finishStreamItem(core, itemId, status.outcome, status.results);
  }

  /** Feeds the thread the results of steps that completed while nobody resumed it. */
  async function catchUp(graph: ValueStreamGraph, itemId: string, status: ValueStreamStatus) {
    let current = status;
    for (let guard = 0; guard < 1000 && current.state === 'running'; guard++) {
      let resumed = false;
      for (const waiting of current.waitingOn) {
        const stepId = await findStreamStepId(core.store, core.store.db, itemId, waiting.key);
        const outcome = stepId ? await findStepOutcome(core.store, stepId) : undefined;
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
    firstCapability(kind) {
      const graph = graphs.get(kind);
      const start = starts.get(kind);
      return graph?.stream.steps.find((s) => s.id === start)?.capability;
    },

    covers(kind, capability) {
      return graphs.get(kind)?.stream.steps.some((s) => s.capability === capability) ?? false;
    },

    follows(db, itemId) {
      return itemFollowsStream(core.store, db, itemId);
    },

    async submitted(item) {
      const graph = graphs.get(item.kind);
      if (!graph) return;
      await settle(item.id, await graph.start(streamItem(item)));
    },

    async stepCompleted(item: WorkItemRecord, step: StepRecord, result: JsonValue | null) {
      const graph = graphs.get(item.kind);
      if (!graph) return;
      const key = await findStreamStepKey(core.store, core.store.db, step.id);
      if (!key) {
        // A step beside the stream (a review a policy required): the item may finish if the stream has.
        await settle(item.id, await graph.status(item.id));
        return;
      }
      const outcome = await graph.completeStep(item.id, key, result);
      await settle(item.id, outcome.status);
    },

    async recover() {
      const ids = await findOpenStreamedItemIds(core.store);
      for (const id of ids) {
        try {
          const item = await findWorkItem(core.store.db, id);
          const graph = item ? graphs.get(item.kind) : undefined;
          if (!item || !graph) continue;
          let status = await graph.recover(id);
          if (status.state === 'not_started') status = await graph.start(streamItem(item));
          status = await catchUp(graph, id, status);
          await settle(id, status);
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
