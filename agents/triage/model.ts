// Chooses the triage agent's chat model from configuration: `provider:model`, such as
// `openai:gpt-4o-mini`. The provider package is whatever the user installed; its API key comes from the
// environment variables that package reads (OPENAI_API_KEY, ANTHROPIC_API_KEY…).
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { FlowmeshError } from '../../work/errors.js';
import type { TriageModel } from './graph.js';

const PROVIDERS: Record<string, { pkg: string; className: string }> = {
  openai: { pkg: '@langchain/openai', className: 'ChatOpenAI' },
  anthropic: { pkg: '@langchain/anthropic', className: 'ChatAnthropic' },
  'google-genai': { pkg: '@langchain/google-genai', className: 'ChatGoogleGenerativeAI' },
  mistralai: { pkg: '@langchain/mistralai', className: 'ChatMistralAI' },
  groq: { pkg: '@langchain/groq', className: 'ChatGroq' },
  ollama: { pkg: '@langchain/ollama', className: 'ChatOllama' },
};

/** Parses `provider:model`; errors say which providers exist and how to install one. */
export function parseModelSpec(spec: string): { provider: string; name: string } {
  const at = spec.indexOf(':');
  const provider = at > 0 ? spec.slice(0, at) : '';
  const name = at > 0 ? spec.slice(at + 1) : '';
  if (!PROVIDERS[provider] || !name) {
    throw new FlowmeshError(
      'invalid',
      `triage model "${spec}" is not "provider:model"; providers: ${Object.keys(PROVIDERS).join(', ')} (for example openai:gpt-4o-mini)`,
    );
  }
  return { provider, name };
}

export async function loadTriageModel(spec: string): Promise<TriageModel> {
  const { provider, name } = parseModelSpec(spec);
  const { pkg, className } = PROVIDERS[provider]!;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (error) {
    throw new FlowmeshError(
      'invalid',
      `triage model ${spec} needs the package ${pkg}: run npm install ${pkg} (or unset the model to use the rule-based classifier)`,
      { cause: error },
    );
  }
  const ChatModel = mod[className] as (new (fields: Record<string, unknown>) => BaseChatModel) | undefined;
  if (!ChatModel) throw new FlowmeshError('invalid', `${pkg} does not export ${className}`);
  return { model: new ChatModel({ model: name, temperature: 0 }), provider, name };
}
