// Claims for one node that arrive together are made together: the workers of a busy node (an agent
// pool, the HTTP requests of many claimers, the waiters a new step wakes) share one claim statement
// and one commit per turn of the event loop instead of paying one each. The statement claims up to the
// sum of what the callers asked for, within the node's free capacity as always, and deals the steps
// round the callers in the order they came, best first.
import type { Store } from '../store/database.js';
import { createGroupCommit, type GroupCommit } from '../store/group-commit.js';
import { claimQueued, type StepWithItem } from '../store/router.js';

export interface ClaimRequest {
  nodeId: string;
  /** Capabilities the node may claim, each with its lease length. The latest caller's view (and time) wins. */
  capabilities: readonly { id: string; leaseSeconds: number }[];
  capacity: number;
  max: number;
  now: Date;
}

export interface ClaimBatches {
  /** Claims up to `max` steps for the node, in a statement shared with the claims beside it. */
  claim(request: ClaimRequest): Promise<StepWithItem[]>;
  /** Resolves when every claim made so far has been answered (or has failed). */
  drain(): Promise<void>;
  /** Nodes with claims in flight or waiting (a node's batcher is let go once its claims are answered). */
  active(): number;
}

/**
 * Claim statements of one node in flight at once. Claims arriving meanwhile wait for one to finish and
 * go together in the next: under load batches grow by themselves, and a lone claim is sent at once.
 */
const IN_FLIGHT_PER_NODE = 2;
/** Callers per statement at most (a claim over HTTP or MCP asks for at most 100 steps). */
const MAX_BATCH = 50;

export function createClaimBatches(deps: { store: Store }): ClaimBatches {
  /** Per node with claims in flight or waiting: its batcher and how many claims it has not answered. */
  const nodes = new Map<string, { batches: GroupCommit<ClaimRequest, StepWithItem[]>; open: number }>();

  const write = async (batch: readonly ClaimRequest[]): Promise<StepWithItem[][]> => {
    const latest = batch[batch.length - 1]!;
    let total = 0;
    for (const r of batch) total += r.max;
    const claimed = await claimQueued(deps.store, deps.store.db, {
      nodeId: latest.nodeId,
      capabilities: latest.capabilities,
      capacity: latest.capacity,
      max: total,
      now: latest.now,
    });
    // Dealt round the callers in rank order, as claims made side by side would share the queue: the
    // best step goes to the first caller, and a short queue is spread instead of filling one caller.
    const shares: StepWithItem[][] = batch.map(() => []);
    let next = 0;
    for (const step of claimed.slice(0, total)) {
      while (shares[next]!.length >= batch[next]!.max) next = (next + 1) % batch.length;
      shares[next]!.push(step);
      next = (next + 1) % batch.length;
    }
    return shares;
  };

  return {
    claim(request) {
      let entry = nodes.get(request.nodeId);
      if (!entry) {
        const batches = createGroupCommit<ClaimRequest, StepWithItem[]>(write, {
          maxInFlight: IN_FLIGHT_PER_NODE,
          maxBatch: MAX_BATCH,
        });
        entry = { batches, open: 0 };
        nodes.set(request.nodeId, entry);
      }
      const held = entry;
      held.open++;
      // Let an idle node's batcher go, so nodes that stopped claiming (or were deleted) hold nothing.
      return held.batches.add(request).finally(() => {
        held.open--;
        if (held.open === 0 && nodes.get(request.nodeId) === held) nodes.delete(request.nodeId);
      });
    },
    async drain() {
      await Promise.all([...nodes.values()].map((e) => e.batches.drain()));
    },
    active: () => nodes.size,
  };
}
