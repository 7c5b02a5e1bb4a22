// The policy engine as the router's RouteGuard: each call reads the running set once, so a reload
// takes effect at the next decision and one decision never mixes two versions.
import type {
  AdmissionVerdict,
  CompletionContext,
  CompletionVerdict,
  GuardStep,
  PolicyTrace,
  RouteCandidate,
  RouteGuard,
  RouteVerdict,
} from '../capabilities/hooks.js';
import type { Clock } from '../work/clock.js';
import type { JsonValue } from '../work/json.js';
import type { Exclusion, WorkItemRecord } from '../work/records.js';
import type { Decision, Effect } from './evaluate.js';
import type { PolicyHolder } from './holder.js';

function trace(
  version: string,
  ruleIds: string[],
  effects: readonly Effect[],
  failures: Decision['failures'],
): PolicyTrace {
  return {
    version,
    ruleIds,
    escalations: effects.flatMap((e) =>
      e.type === 'escalate' ? [{ ruleId: e.ruleId, severity: e.severity, reason: e.reason }] : [],
    ),
    failures: failures.map((f) => ({ ...f })),
  };
}

export function policyRouteGuard(policies: PolicyHolder, clock: Clock): RouteGuard {
  return {
    admit(item: WorkItemRecord): AdmissionVerdict {
      const d = policies.current().admit({ item, now: clock.now() });
      const policy = trace(d.version, d.ruleIds, d.effects, d.failures);
      const denials = d.effects.filter((e) => e.type === 'deny');
      if (denials.length === 0) return { allowed: true, ruleIds: d.ruleIds, policy };
      const reason = denials.map((e) => (e.type === 'deny' ? e.message : '')).join('; ');
      return { allowed: false, reason, ruleIds: denials.map((e) => e.ruleId), policy };
    },

    evaluate(item: WorkItemRecord, step: GuardStep, candidates: readonly RouteCandidate[]): RouteVerdict {
      const set = policies.current();
      const guard = set.routeGuard({ item, step, now: clock.now() });
      const allowed: RouteCandidate[] = [];
      const excluded: Exclusion[] = [];
      const ruleIds = new Set<string>(guard.effects.map((e) => e.ruleId));
      const failures = [...guard.failures];
      for (const c of candidates) {
        const x = guard.check(c.node);
        if (!x) {
          allowed.push(c);
          continue;
        }
        excluded.push({
          nodeId: c.node.id,
          reason: 'policy',
          detail: x.reasons.join('; '),
          ruleIds: x.ruleIds,
        });
        for (const id of x.ruleIds) ruleIds.add(id);
        for (const f of x.failures) if (f.nodeId) failures.push(f);
      }
      return { allowed, excluded, policy: trace(set.version, [...ruleIds], guard.effects, failures) };
    },

    onComplete(
      item: WorkItemRecord,
      step: GuardStep,
      result: JsonValue | null,
      context: CompletionContext,
    ): CompletionVerdict {
      const set = policies.current();
      const node = context.node ?? { id: 'unknown', kind: 'unknown', capabilities: [], attributes: {} };
      const d = set.complete({ item, step, node, result, confidence: context.confidence, now: clock.now() });
      const required = d.effects.flatMap((e) =>
        e.type === 'require'
          ? [{ capability: e.capability, reason: `required by policy ${e.ruleId}`, ruleIds: [e.ruleId] }]
          : [],
      );
      return { required, policy: trace(d.version, d.ruleIds, d.effects, d.failures) };
    },
  };
}
