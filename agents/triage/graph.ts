// The triage agent as a LangGraph graph around a chat model: ask for JSON, validate it with zod against
// the network, retry with the validation errors, and escalate when the model never gets it right.
// With no model, the deterministic rules classify instead.
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import {
  type Context,
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { z } from 'zod';
import type { Capability } from '../../capabilities/network-schema.js';
import { formatPath } from '../../work/errors.js';
import { classifyByRules } from './rules.js';
import { type Triage, type TriageOutcome, type TriageRequest, TriageSchema } from './schema.js';

export interface TriageModel {
  model: BaseChatModel;
  /** For spans: `openai`, `anthropic`… (gen_ai.provider.name). */
  provider: string;
  /** For spans: the model name (gen_ai.request.model). */
  name: string;
}

export interface TriageAgentOptions {
  /** The network's capabilities: the model may only choose among these. */
  capabilities: readonly Pick<Capability, 'id' | 'description'>[];
  /** No model: the rule-based classifier. */
  model?: TriageModel | undefined;
  /** Model calls allowed before escalating (default 3). */
  maxAttempts?: number | undefined;
  tracer?: Tracer | undefined;
}

const TriageState = Annotation.Root({
  request: Annotation<TriageRequest>(),
  attempts: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  errors: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  /** The conversation with the model, including its invalid answers and our corrections. */
  messages: Annotation<BaseMessage[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  triage: Annotation<Triage | undefined>(),
  source: Annotation<'model' | 'rules' | undefined>(),
});
type State = typeof TriageState.State;

function systemPrompt(capabilities: TriageAgentOptions['capabilities']): string {
  const list = capabilities.map((c) => `- ${c.id}: ${c.description || '(no description)'}`).join('\n');
  return `You triage free-text requests for a customer-operations service.
Choose the capability that should handle the request first, from this list only:
${list}

Answer with one JSON object and nothing else, matching this JSON Schema:
${JSON.stringify(z.toJSONSchema(TriageSchema, { io: 'input', unrepresentable: 'any' }))}

kind: a short lower-case word for the kind of work (refund, incident, question…).
attributes: facts policies need, such as amount (a number), currency, pii (true when the text holds personal data).
priority: 0 (whenever) to 100 (drop everything). confidence: 0 to 1, how sure you are.`;
}

/** The model's text as JSON: tolerates a Markdown code fence, nothing more. */
function parseOutput(text: string): unknown {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  return JSON.parse(fenced ? fenced[1]! : text);
}

export function validateTriage(raw: string, capabilities: ReadonlySet<string>): Triage | string[] {
  let value: unknown;
  try {
    value = parseOutput(raw);
  } catch (error) {
    return [`the answer is not JSON: ${(error as Error).message}`];
  }
  const parsed = TriageSchema.safeParse(value);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`);
  }
  if (!capabilities.has(parsed.data.capability)) {
    return [`capability: ${parsed.data.capability} is not one of the listed capabilities`];
  }
  return parsed.data;
}

export class TriageAgent {
  readonly #graph;
  readonly #options: TriageAgentOptions;

  constructor(options: TriageAgentOptions) {
    this.#options = options;
    this.#graph = this.#build();
  }

  get usesModel(): boolean {
    return this.#options.model !== undefined;
  }

  /** Classifies one request. `parent` is the item's trace context, so model calls join its trace. */
  async triage(request: TriageRequest, parent?: Context): Promise<TriageOutcome> {
    const state = (await this.#graph.invoke({ request }, { configurable: { parent } })) as State;
    if (state.triage && state.source) {
      return { status: 'classified', triage: state.triage, source: state.source, attempts: state.attempts };
    }
    return {
      status: 'escalated',
      reason: `the model gave no valid triage in ${state.attempts} attempts`,
      attempts: state.attempts,
      errors: state.errors,
    };
  }

  #build() {
    const ids = new Set(this.#options.capabilities.map((c) => c.id));
    const maxAttempts = this.#options.maxAttempts ?? 3;
    const model = this.#options.model;
    const tracer = this.#options.tracer ?? trace.getTracer('flowmesh.agents.triage');
    const system = systemPrompt(this.#options.capabilities);

    const classify = async (state: State, config: { configurable?: { parent?: Context } }) => {
      if (!model) {
        return { triage: classifyByRules(state.request, ids), source: 'rules' as const };
      }
      const attempt = state.attempts + 1;
      const start: BaseMessage[] =
        state.messages.length === 0
          ? [
              new SystemMessage(system),
              new HumanMessage(
                [state.request.title && `Title: ${state.request.title}`, state.request.text]
                  .filter(Boolean)
                  .join('\n\n'),
              ),
            ]
          : [];
      const conversation = [...state.messages, ...start];
      let text: string;
      try {
        const reply = await chatSpan(tracer, model, config.configurable?.parent, attempt, () =>
          model.model.invoke(conversation),
        );
        text = reply.text;
      } catch (error) {
        return {
          attempts: attempt,
          messages: start,
          errors: [`attempt ${attempt}: the model call failed: ${(error as Error).message}`],
        };
      }
      const checked = validateTriage(text, ids);
      if (!Array.isArray(checked)) {
        return { attempts: attempt, messages: start, triage: checked, source: 'model' as const };
      }
      return {
        attempts: attempt,
        errors: checked.map((e) => `attempt ${attempt}: ${e}`),
        messages: [
          ...start,
          new AIMessage(text),
          new HumanMessage(
            `That answer is invalid:\n${checked.map((e) => `- ${e}`).join('\n')}\nAnswer again with the JSON object only.`,
          ),
        ],
      };
    };

    return new StateGraph(TriageState)
      .addNode('classify', classify)
      .addEdge(START, 'classify')
      .addConditionalEdges(
        'classify',
        (state: State) => (state.triage || state.attempts >= maxAttempts ? END : 'classify'),
        ['classify', END],
      )
      .compile();
  }
}

/** One model call as a GenAI client span (OpenTelemetry semantic conventions), in the item's trace. */
async function chatSpan(
  tracer: Tracer,
  model: TriageModel,
  parent: Context | undefined,
  attempt: number,
  call: () => Promise<AIMessage>,
): Promise<AIMessage> {
  const span = tracer.startSpan(
    `chat ${model.name}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': model.provider,
        'gen_ai.request.model': model.name,
        'gen_ai.agent.name': 'flowmesh-triage',
        'flowmesh.attempt': attempt,
      },
    },
    parent ?? otelContext.active(),
  );
  try {
    const reply = await call();
    const usage = reply.usage_metadata;
    if (usage) {
      span.setAttribute('gen_ai.usage.input_tokens', usage.input_tokens);
      span.setAttribute('gen_ai.usage.output_tokens', usage.output_tokens);
    }
    return reply;
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}
