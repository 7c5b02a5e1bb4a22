// The built-in agent host: flowmesh's own agents (the triage agent) claim their work through the same
// claim / heartbeat / complete / fail functions as external agents — no back door — within their
// node's capacity, holding each lease with heartbeats while they work.
import { type Claim, claimSteps } from '../capabilities/claims.js';
import type { Core } from '../capabilities/core.js';
import { completeStep, failStep, heartbeatStep } from '../capabilities/leases.js';
import { isFlowmeshError } from '../work/errors.js';
import type { JsonValue } from '../work/json.js';
import type { Principal } from '../work/principal.js';

export type AgentResult =
  | { kind: 'complete'; result: JsonValue; confidence?: number | undefined }
  /** Not retryable: the router fails the step and opens an escalation with the reason. */
  | { kind: 'fail'; reason: string; retryable: boolean };

export interface BuiltInAgent {
  nodeId: string;
  handle(claim: Claim): Promise<AgentResult>;
}

export interface AgentHost {
  /** One round: each agent claims what its free capacity allows and works it. Returns steps worked. */
  tick(): Promise<number>;
  /** Works continuously (long-poll claims) until stop(). */
  start(): void;
  stop(): Promise<void>;
}

export interface AgentHostOptions {
  /** Long-poll wait per claim call in the background loop. */
  claimWaitSeconds?: number;
  /** Heartbeat every this fraction of the lease (default a third). */
  heartbeatFraction?: number;
}

function principalFor(nodeId: string): Principal {
  return { id: `builtin:${nodeId}`, name: `built-in agent ${nodeId}`, role: 'agent', nodeId };
}

export function createAgentHost(
  core: Core,
  agents: readonly BuiltInAgent[],
  options: AgentHostOptions = {},
): AgentHost {
  const inFlight = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let stop: AbortController | undefined;
  let loops: Promise<void>[] = [];

  async function work(agent: BuiltInAgent, principal: Principal, claim: Claim): Promise<void> {
    const ref = { workItemId: claim.workItem.id, stepId: claim.step.id, leaseToken: claim.lease.token };
    const leaseSeconds = core.router.registry.capability(claim.step.capability)?.leaseSeconds ?? 300;
    const every = Math.max(1000, leaseSeconds * 1000 * (options.heartbeatFraction ?? 1 / 3));
    const beat = setInterval(() => {
      heartbeatStep(core, principal, ref).catch((error: unknown) =>
        core.logger.warn('built-in agent heartbeat failed', { nodeId: agent.nodeId, error: String(error) }),
      );
    }, every);
    beat.unref?.();
    try {
      let outcome: AgentResult;
      try {
        outcome = await agent.handle(claim);
      } catch (error) {
        outcome = { kind: 'fail', reason: `the agent failed: ${(error as Error).message}`, retryable: true };
      }
      if (outcome.kind === 'complete') {
        await completeStep(core, principal, {
          ...ref,
          result: outcome.result,
          confidence: outcome.confidence,
        });
      } else {
        await failStep(core, principal, { ...ref, reason: outcome.reason, retryable: outcome.retryable });
      }
    } catch (error) {
      // lease_lost: the lease ran out and someone else has the step now; that is theirs to finish.
      if (isFlowmeshError(error) && error.code === 'lease_lost') {
        core.logger.warn('built-in agent lost its lease', { nodeId: agent.nodeId, stepId: claim.step.id });
      } else {
        core.logger.error('built-in agent could not report its work', {
          nodeId: agent.nodeId,
          stepId: claim.step.id,
          error: String(error),
        });
      }
    } finally {
      clearInterval(beat);
    }
  }

  async function round(agent: BuiltInAgent, waitSeconds: number, signal?: AbortSignal): Promise<number> {
    const node = core.router.registry.node(agent.nodeId);
    if (!node) return 0;
    const busy = inFlight.get(agent.nodeId) ?? 0;
    const free = node.capacity - busy;
    if (free <= 0) return 0;
    const principal = principalFor(agent.nodeId);
    const claims = await claimSteps(core, principal, {
      nodeId: agent.nodeId,
      max: free,
      waitSeconds,
      signal,
    });
    inFlight.set(agent.nodeId, busy + claims.length);
    const jobs = claims.map((claim) => {
      const job = work(agent, principal, claim).finally(() => {
        inFlight.set(agent.nodeId, (inFlight.get(agent.nodeId) ?? 1) - 1);
        running.delete(job);
      });
      running.add(job);
      return job;
    });
    await Promise.all(jobs);
    return claims.length;
  }

  return {
    async tick() {
      let n = 0;
      for (const agent of agents) n += await round(agent, 0);
      return n;
    },
    start() {
      if (stop) return;
      stop = new AbortController();
      const signal = stop.signal;
      loops = agents.map(async (agent) => {
        while (!signal.aborted) {
          try {
            await round(agent, options.claimWaitSeconds ?? 20, signal);
          } catch (error) {
            core.logger.warn('built-in agent claim failed', { nodeId: agent.nodeId, error: String(error) });
            await new Promise((r) => setTimeout(r, 1000).unref?.());
          }
        }
      });
    },
    async stop() {
      stop?.abort();
      await Promise.allSettled(loops);
      await Promise.allSettled([...running]);
      stop = undefined;
      loops = [];
    },
  };
}
