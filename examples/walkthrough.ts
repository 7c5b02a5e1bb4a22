// A walk through the router against a running flowmesh (`npm start`): the example network's nodes
// claim and complete work, and a free-text refund goes through its value stream (triage by the
// built-in agent → assess → approve over 500 → execute). Run it with `npx tsx examples/walkthrough.ts`
// (and `npx tsx examples/help-centre.ts` beside it for the push node that pays refunds).
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

interface Item {
  state: string;
  attributes: Record<string, unknown>;
  result: { outcome?: string } | null;
  steps: { capability: string; state: string }[];
}

const getItem = async (key: string, id: string) =>
  (await call<Item>(key, 'GET', `/v1/work-items/${id}`)).body;

/** Reads the item until `done` holds for it (the built-in agents and push nodes work in the background). */
async function waitFor(key: string, id: string, done: (item: Item) => boolean): Promise<Item> {
  for (let i = 0; ; i++) {
    const item = await getItem(key, id);
    if (done(item) || i >= 50) return item;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const openSteps = (item: Item) =>
  item.steps
    .filter((s) => s.state === 'queued' || s.state === 'claimed')
    .map((s) => `${s.capability} (${s.state})`)
    .join(', ') || 'none';

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
  const refundKey = await keyFor('walkthrough refund agent', 'agent', 'refund-agent');
  // Human teams claim with operator keys for their team's node.
  const billingKey = await keyFor('walkthrough billing desk', 'operator');

  say('\n1. The network');
  const nodes = await call<{
    nodes: { id: string; kind: string; mode: string; capacity: number; wip: number }[];
  }>(admin, 'GET', '/v1/nodes');
  for (const n of nodes.body.nodes)
    say(`   ${n.id.padEnd(14)} ${n.kind.padEnd(13)} ${n.mode}  capacity ${n.capacity}  wip ${n.wip}`);

  say('\n2. A free-text refund follows the refund stream; the built-in triage agent reads it');
  const refund = await call<{ id: string }>(admin, 'POST', '/v1/work-items', {
    kind: 'refund',
    title: 'Charged twice for order 1042',
    attributes: { pii: false },
    payload: { text: 'I was charged twice for order 1042, please refund the 900 EUR.' },
  });
  const id = refund.body.id;
  let item = await waitFor(admin, id, (i) => i.steps.some((s) => s.capability === 'refund.assess'));
  say(`   triage → attributes ${JSON.stringify(item.attributes)}; next: ${openSteps(item)}`);

  say('\n3. The refund agent assesses it; over 500, the stream (and the approval policy) want a person');
  const assess = await call<Claim>(refundKey, 'POST', '/v1/nodes/refund-agent/claims', { wait: 5 });
  const assessed = await call(refundKey, 'POST', `/v1/work-items/${id}/complete`, {
    stepId: assess.body.step.id,
    leaseToken: assess.body.lease.token,
    result: { eligible: true },
    confidence: 0.93,
  });
  item = await getItem(admin, id);
  say(`   ${assess.body.step.capability} completed → ${assessed.status}; next: ${openSteps(item)}`);

  say('\n4. A stale lease is refused (fencing)');
  const stale = await call<{ code: string }>(refundKey, 'POST', `/v1/work-items/${id}/complete`, {
    stepId: assess.body.step.id,
    leaseToken: assess.body.lease.token,
    result: {},
  });
  say(`   completing the assessed step again → ${stale.status} ${stale.body.code}`);

  say(
    '\n5. The billing team approves; the refund is paid (by help-centre when examples/help-centre.ts runs)',
  );
  const approve = await call<Claim>(billingKey, 'POST', '/v1/nodes/billing-team/claims', { wait: 5 });
  await call(billingKey, 'POST', `/v1/work-items/${approve.body.workItem.id}/complete`, {
    stepId: approve.body.step.id,
    leaseToken: approve.body.lease.token,
    result: { decision: 'approve' },
  });
  say(`   billing-team completed ${approve.body.step.capability}`);
  // Without the help-centre webhook, the billing team pays it.
  const pay = await call<Claim>(billingKey, 'POST', '/v1/nodes/billing-team/claims', { wait: 2 });
  if (pay.status === 200) {
    await call(billingKey, 'POST', `/v1/work-items/${pay.body.workItem.id}/complete`, {
      stepId: pay.body.step.id,
      leaseToken: pay.body.lease.token,
      result: { paid: true },
    });
    say(`   billing-team completed ${pay.body.step.capability}`);
  }
  item = await waitFor(admin, id, (i) => i.state !== 'open');
  say(
    `   item ${item.state}, outcome ${item.result?.outcome ?? '-'}: ${item.steps.map((s) => s.capability).join(' → ')}`,
  );

  say('\n6. Personal data: the refund agent is left out, the billing team takes it');
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

  say('\n7. Capabilities: queue depth, oldest wait, eligible nodes');
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
