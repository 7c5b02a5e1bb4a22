// Shared helpers of the policy suites: compile rules from inline YAML against the example network.
import { compilePolicySet, type PolicyProblem } from '../../policies/compile.js';
import { type PolicySet, policySet } from '../../policies/policy-set.js';

export const CAPABILITIES = new Set([
  'intake.triage',
  'kb.answer',
  'refund.assess',
  'refund.approve',
  'refund.execute',
  'quality.review',
]);

export async function rules(text: string, file = 'rules.yaml'): Promise<PolicySet> {
  const outcome = await compilePolicySet([{ file, text }], { capabilities: CAPABILITIES });
  if (!outcome.ok) throw new Error(outcome.problems.map((p) => p.reason).join('; '));
  return policySet(outcome.set);
}

export async function problemsOf(text: string, file = 'rules.yaml'): Promise<PolicyProblem[]> {
  const outcome = await compilePolicySet([{ file, text }], { capabilities: CAPABILITIES });
  if (outcome.ok) throw new Error('expected the set to be refused');
  return outcome.problems;
}

export const NOW = new Date('2026-01-05T09:00:00Z');
export const human = {
  id: 'billing-team',
  kind: 'human_team',
  capabilities: ['refund.assess'],
  attributes: {},
};
export const agent = {
  id: 'refund-agent',
  kind: 'ai_agent',
  capabilities: ['refund.assess'],
  attributes: {},
};
export const selfService = {
  id: 'help-centre',
  kind: 'self_service',
  capabilities: ['kb.answer'],
  attributes: {},
};
export const item = (attributes: Record<string, unknown> = {}, kind = 'refund') => ({
  kind,
  attributes: attributes as never,
  priority: 50,
});
