// Chat templates rendered with @huggingface/jinja: Llama 3 and ChatML, then tokenized with their
// special tokens; broken templates give ChatTemplateError.
import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../lib/errors.js';
import { ChatTemplateError, renderChat } from '../../lib/tokenizer/chat.js';
import { loadVocab } from './vocab-fixtures.js';

// Meta's Llama-3-8B-Instruct template.
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

const conversation = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: ' Define "lexicon". ' },
];

describe('renderChat', () => {
  it('renders a Llama 3 conversation that tokenizes to its header and end-of-turn tokens', async () => {
    const text = renderChat(LLAMA3, conversation, { bosToken: '<|begin_of_text|>' });
    expect(text).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nDefine "lexicon".<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const tok = await loadVocab('llama-bpe');
    const ids = tok.encode(text, { addBos: false, parseSpecial: true });
    const count = (text: string) => ids.filter((id) => id === tok.tokenId(text)).length;
    expect(ids[0]).toBe(tok.bosId);
    expect(count('<|start_header_id|>')).toBe(3);
    expect(count('<|eot_id|>')).toBe(2);
    expect(tok.decode(ids, { special: true })).toBe(text);
  });

  it('renders the ChatML template stored in the Qwen2 vocabulary', async () => {
    const tok = await loadVocab('qwen2');
    expect(tok.chatTemplate).toBeDefined();
    const user = [{ role: 'user', content: 'Hi' }];
    expect(renderChat(tok.chatTemplate!, user)).toBe(
      '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderChat(tok.chatTemplate!, user, { addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
    );
    const ids = tok.encode(renderChat(tok.chatTemplate!, user), { parseSpecial: true });
    expect(ids.filter((id) => id === tok.eotId)).toHaveLength(2);
  });

  it('passes extra variables and the BOS/EOS texts', () => {
    const template = '{{ bos_token }}{{ greeting }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}';
    expect(renderChat(template, [{ role: 'user', content: 'x' }], { bosToken: '<s>', eosToken: '</s>', variables: { greeting: 'hey ' } })).toBe(
      '<s>hey x</s>',
    );
  });

  it('reports templates that do not parse or that fail', () => {
    expect(() => renderChat('{% for m in messages %}{{ m.content }}', conversation)).toThrow(ChatTemplateError);
    expect(() => renderChat('{% for m in messages %}{{ m.content }}', conversation)).toThrow(/does not parse/);
    const strict = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with a user message') }}{% endif %}";
    expect(() => renderChat(strict, conversation)).toThrow(/failed to render: Conversations must start with a user message/);
    expect(() => renderChat('{{ messages.nope() }}', conversation)).toThrow(ChatTemplateError);
    expect(new ChatTemplateError('x')).toBeInstanceOf(InvalidArgumentError);
    expect(() => renderChat('', conversation)).toThrow(InvalidArgumentError);
    expect(() => renderChat(LLAMA3, [{ role: 'user' }] as never)).toThrow(/messages\[0\]/);
  });
});
