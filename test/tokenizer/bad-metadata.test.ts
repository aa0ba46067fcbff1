// Tokenizer metadata that cannot be used gives BadFileError / UnsupportedError with a clear message.
import { describe, expect, it } from 'vitest';

import { BadFileError, UnsupportedError } from '../../lib/errors.js';
import type { GgufKV } from '../../lib/gguf.js';
import { loadTokenizer, tokenizerFromGguf } from '../../lib/tokenizer/gguf.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';

const spm = { model: 'llama', tokens: ['<unk>', '<s>', '</s>', '▁a', 'a'], scores: [0, 0, 0, -1, -2], tokenTypes: [2, 3, 3, 1, 1] };
const bpe = { model: 'gpt2', pre: 'gpt-2', tokens: ['a', 'b', 'ab'], merges: ['a b'] };

describe('bad tokenizer metadata', () => {
  it('a small valid vocabulary works (the base of the cases below)', () => {
    expect(new Tokenizer(spm).encode('a')).toEqual([1, 3]);
    expect(new Tokenizer(bpe).encode('abba')).toEqual([2, 1, 0]);
  });

  it.each([
    ['no tokens', { ...spm, tokens: [] }, BadFileError, /no tokens/],
    ['a non-string token', { ...spm, tokens: ['<unk>', 7] }, BadFileError, /Token 1 .* not a string/],
    ['an unknown model', { ...spm, model: 'bert' }, UnsupportedError, /Unsupported tokenizer model "bert"/],
    ['no model', { ...spm, model: '' }, BadFileError, /no tokenizer.ggml.model/],
    ['an unknown pre-tokenizer', { ...bpe, pre: 'deepseek-coder' }, UnsupportedError, /Unsupported pre-tokenizer "deepseek-coder".*supported: .*llama-bpe/],
    ['BPE without merges', { ...bpe, merges: undefined }, BadFileError, /no merges/],
    ['too few scores', { ...spm, scores: [0, 0] }, BadFileError, /scores has 2 entries for 5 tokens/],
    ['too few token types', { ...spm, tokenTypes: [1] }, BadFileError, /token_type has 1 entries for 5 tokens/],
  ])('%s', (_, data, errorClass, message) => {
    const build = () => new Tokenizer(data as never);
    expect(build).toThrow(errorClass);
    expect(build).toThrow(message);
  });

  it('special ids outside the vocabulary fall back to the defaults with a warning, as in llama.cpp', () => {
    const tok = new Tokenizer({ ...spm, bosId: 5, padId: -1 });
    expect(tok.bosId).toBe(1);
    expect(tok.padId).toBeUndefined();
    expect(tok.warnings).toEqual([
      'tokenizer.ggml.bos_token_id = 5 is outside the vocabulary of 5 tokens; using 1',
      'tokenizer.ggml.padding_token_id = -1 is outside the vocabulary of 5 tokens; using none',
    ]);
    expect(new Tokenizer(spm).warnings).toEqual([]);
  });

  it('GGUF metadata of the wrong type or without a tokenizer', async () => {
    const kv = (key: string, type: GgufKV['type'], value: GgufKV['value']): GgufKV => ({ key, type, value });
    const model = kv('tokenizer.ggml.model', 'string', 'llama');
    const tokens = kv('tokenizer.ggml.tokens', 'array', spm.tokens);
    expect(tokenizerFromGguf({ metadata: [model, tokens] }).vocabSize).toBe(5);
    expect(() => tokenizerFromGguf({ metadata: [tokens] })).toThrow(/has no tokenizer/);
    expect(() => tokenizerFromGguf({ metadata: [model] })).toThrow(/no tokenizer.ggml.tokens/);
    expect(() => tokenizerFromGguf({ metadata: [model, kv('tokenizer.ggml.tokens', 'array', new Int32Array(3))] })).toThrow(
      /tokenizer.ggml.tokens should be an array of strings/,
    );
    expect(() => tokenizerFromGguf({ metadata: [model, tokens, kv('tokenizer.ggml.add_bos_token', 'string', 'yes')] })).toThrow(
      BadFileError,
    );
    // A real GGUF file that carries tensors but no tokenizer.
    await expect(loadTokenizer('test/fixtures/gguf/tiny.gguf')).rejects.toThrow(BadFileError);
  });
});
