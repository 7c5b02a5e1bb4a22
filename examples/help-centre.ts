// The example network's self-service automation: a tiny webhook that flowmesh pushes `help-centre`
// steps to (examples/network.yaml points the node at http://127.0.0.1:4010/help-centre/steps).
// It answers knowledge-base questions from a small FAQ and "pays" refunds, returning the result in
// the response so flowmesh completes the step at once. Run beside `npm start`:
//   npx tsx examples/help-centre.ts
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

interface PushedStep {
  workItem: { id: string; title: string | null; payload: unknown; attributes: Record<string, unknown> };
  step: { id: string; capability: string; attempt: number };
}

const FAQ: Array<{ words: string[]; answer: string }> = [
  {
    words: ['password', 'reset', 'login'],
    answer: 'Use "Forgot password" on the sign-in page; the link is valid for 30 minutes.',
  },
  { words: ['invoice', 'receipt'], answer: 'Invoices are under Account → Billing → Invoices, as PDF.' },
  { words: ['hours', 'open', 'support'], answer: 'Support answers Monday to Friday, 08:00–18:00 CET.' },
];

function answer(question: string): { answer: string; source: string } | undefined {
  const q = question.toLowerCase();
  const hit = FAQ.find((f) => f.words.some((w) => q.includes(w)));
  return hit ? { answer: hit.answer, source: 'faq' } : undefined;
}

const app = new Hono();
app.post('/help-centre/steps', async (c) => {
  const pushed = (await c.req.json()) as PushedStep;
  const payload = (pushed.workItem.payload ?? {}) as Record<string, unknown>;
  if (pushed.step.capability === 'kb.answer') {
    const found = answer(String(payload.question ?? pushed.workItem.title ?? ''));
    // No FAQ entry: answer with an error so flowmesh counts a failure and routes the step elsewhere.
    if (!found) return c.json({ error: 'no FAQ entry matches this question' }, 422);
    return c.json({ result: found, confidence: 0.9 });
  }
  if (pushed.step.capability === 'refund.execute') {
    const amount = Number(pushed.workItem.attributes.amount ?? 0);
    return c.json({ result: { paid: true, amount, reference: `RF-${pushed.step.id.slice(0, 8)}` } });
  }
  return c.json({ error: `help-centre does not do ${pushed.step.capability}` }, 400);
});

const port = Number(process.env.HELP_CENTRE_PORT ?? 4010);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  process.stdout.write(`help-centre automation listening on http://127.0.0.1:${port}/help-centre/steps\n`);
});
