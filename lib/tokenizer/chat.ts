// Renders a conversation through a model's Jinja chat template (tokenizer.chat_template) with
// @huggingface/jinja, the engine of transformers.js (which also provides raise_exception and
// strftime_now to templates).
import { Template } from '@huggingface/jinja';

import { InvalidArgumentError } from '../errors.js';
import { invalid } from '../options.js';

export interface ChatMessage {
  role: string;
  content: string;
  [extra: string]: unknown;
}

export interface RenderChatOptions {
  /** End with the header of the assistant's turn, so that the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  /** The texts that templates know as `bos_token` and `eos_token`. Default "". */
  bosToken?: string;
  eosToken?: string;
  /** More variables for the template (e.g. `tools`, `date_string`). */
  variables?: Record<string, unknown>;
}

/** A chat template that does not parse, or fails while rendering (including its own raise_exception). */
export class ChatTemplateError extends InvalidArgumentError {}

// Parsing costs more than rendering and a model renders with the same template every time.
const parsed = new Map<string, Template>();
const PARSED_LIMIT = 16;

function compile(template: string): Template {
  let compiled = parsed.get(template);
  if (compiled === undefined) {
    try {
      compiled = new Template(template);
    } catch (err) {
      throw new ChatTemplateError(`The chat template does not parse: ${(err as Error).message}`, { cause: err });
    }
    if (parsed.size >= PARSED_LIMIT) parsed.clear();
    parsed.set(template, compiled);
  }
  return compiled;
}

export function renderChat(template: string, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  if (typeof template !== 'string' || template === '') throw invalid('a non-empty chat template string', 'template', template);
  if (!Array.isArray(messages)) throw invalid('an array of {role, content} messages', 'messages', messages);
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw invalid('a {role: string, content: string} message', `messages[${i}]`, m);
    }
  });
  const compiled = compile(template);
  try {
    return compiled.render({
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: options.bosToken ?? '',
      eos_token: options.eosToken ?? '',
    });
  } catch (err) {
    // Includes the template's own raise_exception('...') calls, with their message.
    throw new ChatTemplateError(`The chat template failed to render: ${(err as Error).message}`, { cause: err });
  }
}
