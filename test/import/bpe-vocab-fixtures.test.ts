// tokenizer.json import at real scale: llama.cpp's Llama 3, Qwen2 and GPT-2 vocabularies, rebuilt as tokenizer.json files, convert back to the same GGUF metadata.
import { describe, expect, it } from 'vitest';

import { getMetadata, readGguf } from '../../lib/gguf.js';
import { buildVocab, tokenizerMetadata } from '../../lib/import/hf-tokenizer.js';
import { withVocabFile } from '../tokenizer/vocab-fixtures.js';

const SPLIT = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const split = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
});
// The pre_tokenizer sections of these models' tokenizer.json files.
const PRE_TOKENIZERS = {
  'llama-bpe': split(SPLIT),
  qwen2: split(SPLIT.replace(String.raw`\p{N}{1,3}`, String.raw`\p{N}`)),
  'gpt-2': { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
} as const;

/** Index of the first differing element (or the shorter length), -1 when equal: deep equality is slow on 10^5 entries. */
function firstDifference<T>(a: readonly T[], b: readonly T[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('tokenizer.json vocabularies of llama.cpp fixtures', () => {
  for (const name of Object.keys(PRE_TOKENIZERS) as (keyof typeof PRE_TOKENIZERS)[]) {
    it(`${name}: tokens, types, merges, pre-tokenizer and special ids as llama.cpp converted them`, async () => {
      await withVocabFile(name, async (path) => {
        const g = await readGguf(path);
        const tokens = getMetadata(g, 'tokenizer.ggml.tokens') as string[];
        const types = Array.from(getMetadata(g, 'tokenizer.ggml.token_type') as Int32Array);
        const merges = getMetadata(g, 'tokenizer.ggml.merges') as string[];
        // Normal tokens go to model.vocab, control (3) and user-defined (4) tokens to added_tokens, as in the originals.
        const vocab: Record<string, number> = {};
        const added: { id: number; content: string; special: boolean }[] = [];
        tokens.forEach((t, id) => (types[id] === 1 ? (vocab[t] = id) : added.push({ id, content: t, special: types[id] === 3 })));
        const tokenizerJson = {
          added_tokens: added,
          pre_tokenizer: PRE_TOKENIZERS[name],
          // The newer pair format; the conversion writes the "a b" strings llama.cpp stores.
          model: { type: 'BPE', vocab, merges: merges.map((m) => m.split(' ')), byte_fallback: false },
        };
        const bosId = getMetadata(g, 'tokenizer.ggml.bos_token_id') as number;
        const eosId = getMetadata(g, 'tokenizer.ggml.eos_token_id') as number;
        const files = { tokenizerJson, tokenizerConfig: { bos_token: tokens[bosId], eos_token: { content: tokens[eosId] } } };
        const kvs = tokenizerMetadata(files, buildVocab(files, tokens.length), {});
        const ours = (key: string) => kvs.find((k) => k.key === key)?.value;
        expect(ours('tokenizer.ggml.model')).toBe('gpt2');
        expect(ours('tokenizer.ggml.pre')).toBe(getMetadata(g, 'tokenizer.ggml.pre'));
        expect(firstDifference(ours('tokenizer.ggml.tokens') as string[], tokens), 'tokens').toBe(-1);
        expect(firstDifference(Array.from(ours('tokenizer.ggml.token_type') as Int32Array), types), 'token types').toBe(-1);
        expect(firstDifference(ours('tokenizer.ggml.merges') as string[], merges), 'merges').toBe(-1);
        expect(ours('tokenizer.ggml.bos_token_id')).toBe(bosId);
        expect(ours('tokenizer.ggml.eos_token_id')).toBe(eosId);
      });
    });
  }
});
