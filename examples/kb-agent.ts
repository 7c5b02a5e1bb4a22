// A tiny flowmesh agent over MCP: it claims kb.answer steps, answers them from a small knowledge base and
// completes them. It hands the step's traceparent back with every call, so its work shows up in the
// item's trace (GET /v1/work-items/{id}/trace). Unsure answers are escalated to a person as well.
//
//   npm start                                   # flowmesh at http://localhost:3000; prints an admin key
//   curl -s localhost:3000/v1/api-keys -H "authorization: Bearer $ADMIN_KEY" -H 'content-type: application/json' \
//     -d '{"name":"kb agent","role":"agent","nodeId":"kb-agent"}'      # -> {"key":"fm_…"}
//   FLOWMESH_API_KEY=fm_… npx tsx examples/kb-agent.ts                 # add --once to stop after one step
//
// FLOWMESH_URL points at another flowmesh (default http://localhost:3000).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

interface Claim {
  workItem: { id: string; title: string | null; payload: unknown; traceId: string };
  step: { id: string; capability: string };
  lease: { token: string; expiresAt: string };
}

const KNOWLEDGE = [
  {
    words: ['refund', 'money back', 'return'],
    answer: 'Refunds go back to the original payment method within 5 business days of approval.',
  },
  {
    words: ['parcel', 'shipping', 'delivery', 'order'],
    answer: 'Orders ship within 24 hours; tracking is in your account.',
  },
  {
    words: ['password', 'login', 'sign in'],
    answer: 'Use "Forgot password" on the sign-in page to get a reset link.',
  },
  { words: ['hours', 'open', 'opening'], answer: 'Support is open Monday to Friday, 9:00 to 17:00 CET.' },
];

/** The best entry and how sure we are: the share of its words that appear in the question. */
function answer(question: string): { answer: string; confidence: number } {
  const q = question.toLowerCase();
  let best = {
    answer: 'I could not find this in the knowledge base; a person will follow up.',
    confidence: 0.2,
  };
  for (const entry of KNOWLEDGE) {
    const hits = entry.words.filter((w) => q.includes(w)).length;
    const confidence = hits === 0 ? 0 : Math.min(0.95, 0.6 + 0.2 * hits);
    if (confidence > best.confidence) best = { answer: entry.answer, confidence };
  }
  return best;
}

function failure(result: CallToolResult): string | undefined {
  if (!result.isError) return undefined;
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ');
}

async function work(client: Client, once: boolean, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const claimed = (await client.callTool(
      { name: 'claim_work', arguments: { wait_seconds: once ? 5 : 20 } },
      undefined,
      { timeout: 60_000, signal },
    )) as CallToolResult;
    const error = failure(claimed);
    if (error) throw new Error(`claim_work failed: ${error}`);
    const claim = (claimed.structuredContent as { claim: Claim | null }).claim;
    if (!claim) {
      if (once) {
        console.log('nothing to do');
        return;
      }
      continue;
    }
    // The step's trace context: our calls (and any spans of our own) join the item's trace under it.
    const _meta = { traceparent: String(claimed._meta?.traceparent ?? '') };
    const lease = { work_item_id: claim.workItem.id, step_id: claim.step.id, lease_token: claim.lease.token };
    const question = (claim.workItem.payload as { question?: unknown } | null)?.question;
    if (claim.step.capability !== 'kb.answer' || typeof question !== 'string') {
      const reason =
        typeof question !== 'string' ? 'payload.question is missing' : `this agent only does kb.answer`;
      await client.callTool({ name: 'fail_work', arguments: { ...lease, reason, retryable: false }, _meta });
      console.log(`failed ${claim.workItem.id}: ${reason}`);
    } else {
      const reply = answer(question);
      if (reply.confidence < 0.5) {
        await client.callTool({
          name: 'escalate',
          arguments: {
            work_item_id: claim.workItem.id,
            reason: `No good answer for: ${question.slice(0, 200)}`,
            severity: 'low',
            kind: 'low_confidence',
            confidence: reply.confidence,
          },
          _meta,
        });
      }
      const done = (await client.callTool({
        name: 'complete_work',
        arguments: { ...lease, result: { answer: reply.answer }, confidence: reply.confidence },
        _meta,
      })) as CallToolResult;
      const problem = failure(done);
      if (problem) console.log(`could not complete ${claim.workItem.id}: ${problem}`);
      else console.log(`answered ${claim.workItem.id} (trace ${claim.workItem.traceId}): ${reply.answer}`);
    }
    if (once) return;
  }
}

async function main(): Promise<void> {
  const key = process.env.FLOWMESH_API_KEY;
  if (!key) throw new Error('set FLOWMESH_API_KEY to an agent key bound to the kb-agent node');
  const url = new URL('/mcp', process.env.FLOWMESH_URL ?? 'http://localhost:3000');
  const client = new Client({ name: 'kb-agent', version: '0.1.0' });
  await client.connect(
    new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  console.log(`kb-agent connected to ${url}; waiting for kb.answer work`);
  try {
    await work(client, process.argv.includes('--once'), stop.signal);
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
