// The offline triage: deterministic keyword rules, so the example network works with no model
// configured. It is honest about its confidence; low confidence sends the item to a human by policy.
import type { JsonObject } from '../../work/json.js';
import type { Triage, TriageRequest } from './schema.js';

interface Rule {
  kind: string;
  capability: string;
  pattern: RegExp;
  priority: number;
}

// Order matters: the first rule that matches wins, so the more specific rules come first.
const RULES: Rule[] = [
  {
    kind: 'incident',
    capability: 'incident.triage',
    pattern:
      /\b(outage|down|incident|not working|doesn't work|does not work|broken|crash(es|ed)?|error 5\d\d|cannot log ?in|can't log ?in)\b/i,
    priority: 70,
  },
  {
    kind: 'refund',
    capability: 'refund.assess',
    pattern:
      /\b(refunds?|refunded|money back|reimburse(ment)?|charged? twice|double charged|overcharged|chargeback)\b/i,
    priority: 50,
  },
  {
    kind: 'question',
    capability: 'kb.answer',
    pattern: /(\?\s*$|^\s*(how|what|where|when|why|can i|could you|is there|do you)\b)/im,
    priority: 30,
  },
];

const URGENT = /\b(urgent|asap|immediately|critical|production|all (users|customers))\b/i;
const AMOUNT =
  /(?:(€|\$|£|eur|usd|gbp)\s?(\d{1,3}(?:[,.]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?))|(?:(\d{1,3}(?:[,.]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)\s?(€|\$|£|eur|euros?|usd|dollars?|gbp|pounds?))/i;
const EMAIL = /[\w.+-]+@[\w-]+\.[\w.-]+/;
const IBAN = /\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}\b/;
const PHONE = /(?:\+\d{1,3}[\s-]?)?(?:\(?\d{2,4}\)?[\s-]?){2,4}\d{3,4}\b/;

const CURRENCY: Record<string, string> = {
  '€': 'EUR',
  eur: 'EUR',
  euro: 'EUR',
  euros: 'EUR',
  $: 'USD',
  usd: 'USD',
  dollar: 'USD',
  dollars: 'USD',
  '£': 'GBP',
  gbp: 'GBP',
  pound: 'GBP',
  pounds: 'GBP',
};

/** `1,250.50`, `1.250,50`, `80` → a number; the last separator followed by 1–2 digits is the decimal one. */
function parseAmount(raw: string): number {
  const decimal = /[.,](\d{1,2})$/.exec(raw);
  const whole = (decimal ? raw.slice(0, decimal.index) : raw).replace(/[.,]/g, '');
  return Number(decimal ? `${whole}.${decimal[1]}` : whole);
}

export function classifyByRules(request: TriageRequest, capabilities: ReadonlySet<string>): Triage {
  const text = [request.title, request.text].filter(Boolean).join('\n');
  const attributes: JsonObject = {};
  const amount = AMOUNT.exec(text);
  if (amount) {
    const raw = amount[2] ?? amount[3] ?? '';
    const symbol = (amount[1] ?? amount[4] ?? '').toLowerCase();
    const value = parseAmount(raw);
    if (Number.isFinite(value)) attributes.amount = value;
    const currency = CURRENCY[symbol];
    if (currency) attributes.currency = currency;
  }
  const pii = EMAIL.test(text) || IBAN.test(text) || PHONE.test(text);
  attributes.pii = pii;

  const urgent = URGENT.test(text);
  const matches = RULES.filter((r) => capabilities.has(r.capability) && r.pattern.test(text));
  const rule = matches[0];
  if (!rule) {
    // Nothing recognisable: say so, and let a person decide.
    return {
      kind: 'request',
      capability: 'intake.triage',
      attributes,
      priority: urgent ? 70 : 40,
      confidence: 0.2,
    };
  }
  // Two kinds of work matched (a question about a refund is a refund): it could be either, so the
  // confidence drops below the usual human-review threshold. A bare question is a weaker signal.
  const specific = matches.filter((r) => r.kind !== 'question');
  const confidence = specific.length > 1 ? 0.5 : rule.kind === 'question' ? 0.7 : 0.85;
  return {
    kind: rule.kind,
    capability: rule.capability,
    attributes,
    priority: Math.min(100, rule.priority + (urgent ? 20 : 0)),
    confidence,
  };
}
