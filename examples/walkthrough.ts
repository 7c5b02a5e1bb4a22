// A walk through the router against a running flowmesh (`npm start`): the example network's nodes
// claim and complete work. Run it with `npx tsx examples/walkthrough.ts`.
//   FLOWMESH_URL        the service (default http://localhost:3000)
//   FLOWMESH_ADMIN_KEY  an admin key (default: the development key in .flowmesh/dev-credentials.json)
import { readFile } from 'node:fs/promises';

const base = process.env.FLOWMESH_URL ?? 'http://localhost:3000';

async function adminKey(): Promise<string> {
  if (process.env.FLOWMESH_ADMIN_KEY) return process.env.FLOWMESH_ADMIN_KEY;
  const file = `${process.env.FLOWMESH_DATA_DIR ?? '.flowmesh'}/dev-credentials.json`;
  const saved = JSON.parse(await readFile(file, 'utf8')) as { adminKey: string };
  return saved.adminKey;
}

async function call<T = Record<string, unknown>>(
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface Claim {
  workItem: { id: string; title: string };
  step: { id: string; capability: string; attempt: number };
  lease: { token: string; expiresAt: string };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const admin = await adminKey();
  const keyFor = async (name: string, role: string, nodeId?: string) =>
    (
      await call<{ key: string }>(admin, 'POST', '/v1/api-keys', {
        name,
        role,
        ...(nodeId ? { nodeId } : {}),
      })
    ).body.key;
  const triageKey = await keyFor('walkthrough triage agent', 'agent', 'triage-agent');
  const refundKey = await keyFor('walkthrough refund agent', 'agent', 'refund-agent');
  // Human teams claim with operator keys for their team's node.
  const billingKey = await keyFor('walkthrough billing desk', 'operator');

  say('\n1. The network');
  const nodes = await call<{
    nodes: { id: string; kind: string; mode: string; capacity: number; wip: number }[];
  }>(admin, 'GET', '/v1/nodes');
  for (const n of nodes.body.nodes)
    say(`   ${n.id.padEnd(14)} ${n.kind.padEnd(13)} ${n.mode}  capacity ${n.capacity}  wip ${n.wip}`);

  say('\n2. A free-text request: the triage agent claims it and hands it off to refund.assess');
  const intake = await call<{ id: string }>(admin, 'POST', '/v1/work-items', {
    kind: 'support.request',
    title: 'My blender arrived broken, I want my money back',
    capability: 'intake.triage',
    attributes: { amount: 89.5 },
  });
  const triage = await call<Claim>(triageKey, 'POST', '/v1/nodes/triage-agent/claims', { wait: 5 });
  say(`   triage-agent claimed ${triage.body.step.capability} (lease until ${triage.body.lease.expiresAt})`);
  const handoff = await call(triageKey, 'POST', `/v1/work-items/${intake.body.id}/handoff`, {
    stepId: triage.body.step.id,
    leaseToken: triage.body.lease.token,
    capability: 'refund.assess',
    reason: 'a refund request for a damaged item',
  });
  say(`   handoff → ${handoff.status}`);

  say('\n3. The refund agent claims a batch and completes with confidence');
  const batch = await call<{ claims: Claim[] }>(refundKey, 'POST', '/v1/nodes/refund-agent/claims', {
    max: 5,
    wait: 5,
  });
  for (const c of batch.body?.claims ?? []) {
    const done = await call<{ workItem: { state: string } }>(
      refundKey,
      'POST',
      `/v1/work-items/${c.workItem.id}/complete`,
      {
        stepId: c.step.id,
        leaseToken: c.lease.token,
        result: { decision: 'refund', amount: 89.5 },
        confidence: 0.93,
      },
    );
    say(`   ${c.workItem.title}: ${c.step.capability} completed → item ${done.body.workItem.state}`);
  }

  say('\n4. A stale lease is refused (fencing)');
  const stale = await call<{ code: string }>(triageKey, 'POST', `/v1/work-items/${intake.body.id}/complete`, {
    stepId: triage.body.step.id,
    leaseToken: triage.body.lease.token,
    result: {},
  });
  say(`   completing the handed-off step again → ${stale.status} ${stale.body.code}`);

  say('\n5. Personal data: the refund agent is left out, the billing team takes it');
  const pii = await call<{
    id: string;
    steps: { eligibleNodes: string[]; exclusions: { nodeId: string; reason: string }[] }[];
  }>(admin, 'POST', '/v1/work-items', {
    kind: 'refund',
    title: 'Refund to a new IBAN',
    capability: 'refund.assess',
    attributes: { pii: true, amount: 120 },
  });
  const step = pii.body.steps[0];
  say(
    `   eligible: ${step?.eligibleNodes.join(', ')}; left out: ${step?.exclusions.map((e) => `${e.nodeId} (${e.reason})`).join(', ')}`,
  );
  const billing = await call<Claim>(billingKey, 'POST', '/v1/nodes/billing-team/claims', { wait: 5 });
  if (billing.status === 200) {
    const done = await call<{ workItem: { state: string } }>(
      billingKey,
      'POST',
      `/v1/work-items/${billing.body.workItem.id}/complete`,
      {
        stepId: billing.body.step.id,
        leaseToken: billing.body.lease.token,
        result: { decision: 'refund' },
      },
    );
    say(`   billing-team completed ${billing.body.step.capability} → item ${done.body.workItem.state}`);
  }

  say('\n6. Capabilities: queue depth, oldest wait, eligible nodes');
  const caps = await call<{
    capabilities: {
      id: string;
      queueDepth: number;
      oldestWaitSeconds: number | null;
      eligibleNodes: string[];
    }[];
  }>(admin, 'GET', '/v1/capabilities');
  for (const c of caps.body.capabilities) {
    say(
      `   ${c.id.padEnd(16)} depth ${c.queueDepth}  oldest ${c.oldestWaitSeconds ?? '-'} s  nodes ${c.eligibleNodes.join(', ')}`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`walkthrough failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
