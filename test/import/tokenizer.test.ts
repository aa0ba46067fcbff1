// Tokenizer import: SentencePiece protobuf parsing, tokenizer.json BPE vocabularies, special tokens and chat templates.
import { describe, expect, it } from 'vitest';

import { BadFileError, UnsupportedError } from '../../lib/errors.js';
import { bpePreTokenizer, bpeVocab, sentencePieceVocab } from '../../lib/import/hf-vocab.js';
import { type TokenizerFiles, buildVocab, tokenizerMetadata } from '../../lib/import/hf-tokenizer.js';
import type { GgufKV } from '../../lib/import/plan.js';
import { PIECE_TYPE, parseSentencePiece } from '../../lib/import/sentencepiece.js';
import { rng, testSeed } from '../helpers/random.js';

// A minimal protobuf encoder for building ModelProto messages.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (num: number, wire: number, payload: number[]): number[] => [...varint(num * 8 + wire), ...payload];
const bytesField = (num: number, b: number[] | Uint8Array): number[] => field(num, 2, [...varint(b.length), ...b]);
const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];

function encodePiece(p: { piece: string; score?: number; type?: number }): number[] {
  const body = [...bytesField(1, utf8(p.piece))];
  if (p.score !== undefined) body.push(...field(2, 5, f32(p.score)));
  if (p.type !== undefined) body.push(...field(3, 0, varint(p.type)));
  return bytesField(1, body);
}

function encodeModel(pieces: { piece: string; score?: number; type?: number }[], normalizer?: { addDummyPrefix: boolean }): Uint8Array {
  const out: number[] = [];
  // A trainer_spec (field 2) with an unknown nested field, skipped by the reader.
  out.push(...bytesField(2, [...field(35, 0, [1]), ...bytesField(1, utf8('model'))]));
  for (const p of pieces) out.push(...encodePiece(p));
  if (normalizer) out.push(...bytesField(3, [...bytesField(1, utf8('identity')), ...field(3, 0, [normalizer.addDummyPrefix ? 1 : 0])]));
  return new Uint8Array(out);
}

const asMap = (kvs: GgufKV[]) => Object.fromEntries(kvs.map((k) => [k.key, k.value]));

describe(`SentencePiece tokenizer.model (seed ${testSeed})`, () => {
  it('reads pieces, scores, types and normalizer flags', () => {
    const next = rng();
    const pieces = Array.from({ length: 300 }, (_, i) => ({
      piece: i === 5 ? '▁ünïcødé' : i === 6 ? '\uFEFF' : `p${i}_${Math.floor(next() * 1e6)}`,
      score: Math.fround((next() - 0.5) * 100),
      type: [1, 2, 3, 4, 5, 6][Math.floor(next() * 6)],
    }));
    pieces[7] = { piece: 'plain', score: undefined as never, type: undefined as never };
    const model = parseSentencePiece(encodeModel(pieces, { addDummyPrefix: false }));
    expect(model.pieces).toHaveLength(300);
    pieces.forEach((p, i) => expect(model.pieces[i]).toEqual({ piece: p.piece, score: p.score ?? 0, type: p.type ?? PIECE_TYPE.NORMAL }));
    expect(model.addDummyPrefix).toBe(false);
    expect(model.removeExtraWhitespaces).toBe(true);
  });

  it('rejects truncated and malformed protobuf with BadFileError', () => {
    const good = encodeModel([{ piece: 'a', score: 1, type: 1 }, { piece: 'b', score: 2, type: 1 }]);
    for (let cut = 1; cut < good.length; cut++) {
      try {
        const m = parseSentencePiece(good.subarray(0, cut));
        // A cut on a message boundary is a valid (shorter) model.
        expect(m.pieces.length).toBeGreaterThan(0);
      } catch (err) {
        expect(err).toBeInstanceOf(BadFileError);
      }
    }
    expect(() => parseSentencePiece(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/runs past the end/);
    expect(() => parseSentencePiece(new Uint8Array(encodeModel([{ piece: 'x', type: 9 }])))).toThrow(/unknown type 9/);
    expect(() => parseSentencePiece(new Uint8Array([...bytesField(1, bytesField(1, [0xff, 0xfe]))]))).toThrow(/UTF-8/);
    expect(() => parseSentencePiece(new Uint8Array([0x0b]))).toThrow(BadFileError);
    expect(() => parseSentencePiece(new Uint8Array(0))).toThrow(/no pieces/);
  });

  it('builds the llama vocabulary sized to vocab_size with added tokens, as llama.cpp', () => {
    const bytes = encodeModel([
      { piece: '<unk>', score: 0, type: 2 },
      { piece: '<s>', score: 0, type: 3 },
      { piece: '</s>', score: 0, type: 3 },
      { piece: '<0x0A>', score: 0, type: 6 },
      { piece: '▁the', score: -1.5, type: 1 },
    ]);
    const v = sentencePieceVocab(bytes, 8, { '<extra>': 5 }, { added_tokens_decoder: { '6': { content: '<|im_end|>', special: false }, '7': { content: '▁user▁word', special: false } } });
    expect(v.tokens).toEqual(['<unk>', '<s>', '</s>', '<0x0A>', '▁the', '<extra>', '<|im_end|>', ' user word']);
    expect(v.scores).toEqual([0, 0, 0, 0, -1.5, -1000, -1000, -1000]);
    expect(v.types).toEqual([2, 3, 3, 6, 1, 4, 3, 4]);
    const padded = sentencePieceVocab(bytes, 7, undefined, undefined);
    expect(padded.tokens.slice(5)).toEqual(['[PAD5]', '[PAD6]']);
    expect(padded.scores!.slice(5)).toEqual([-10000, -10000]);
    expect(padded.types.slice(5)).toEqual([5, 5]);
  });
});

const LLAMA3_PRE = {
  type: 'Sequence',
  pretokenizers: [
    {
      type: 'Split',
      pattern: { Regex: String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` },
      behavior: 'Isolated',
      invert: false,
    },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};

function bpeJson(merges: unknown[]) {
  return {
    added_tokens: [
      { id: 4, content: '<|begin_of_text|>', special: true, normalized: false },
      { id: 5, content: '<|end_of_text|>', special: true, normalized: false },
      { id: 6, content: 'my▁word', special: false, normalized: false },
    ],
    pre_tokenizer: LLAMA3_PRE,
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel' },
        { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [] },
      ],
    },
    model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, 'Ġa': 3 }, merges, ignore_merges: true },
  };
}

describe('tokenizer.json BPE', () => {
  it('reads vocab, added tokens and both merge formats', () => {
    const v = bpeVocab(bpeJson(['a b', 'Ġ a']), 8);
    expect(v).toMatchObject({ model: 'gpt2', pre: 'llama-bpe', merges: ['a b', 'Ġ a'] });
    expect(v.tokens).toEqual(['a', 'b', 'ab', 'Ġa', '<|begin_of_text|>', '<|end_of_text|>', 'my word', '[PAD7]']);
    expect(v.types).toEqual([1, 1, 1, 1, 3, 3, 4, 5]);
    // Pairs (transformers >= 4.45): spaces inside a part are stored as U+0120.
    expect(bpeVocab(bpeJson([['a', 'b'], ['a b', 'c']]), 8).merges).toEqual(['a b', 'aĠb c']);
    expect(() => bpeVocab(bpeJson([42]), 8)).toThrow(BadFileError);
    expect(() => bpeVocab(bpeJson([]), 5)).toThrow(/outside the model's vocab_size/);
    expect(() => bpeVocab({ model: { type: 'Unigram', vocab: [] } }, 5)).toThrow(UnsupportedError);
  });

  it('names known pre-tokenizers as llama.cpp does and refuses unknown ones', () => {
    expect(bpePreTokenizer(LLAMA3_PRE)).toBe('llama-bpe');
    const qwen = structuredClone(LLAMA3_PRE);
    qwen.pretokenizers[0]!.pattern!.Regex = qwen.pretokenizers[0]!.pattern!.Regex.replace(String.raw`\p{N}{1,3}`, String.raw`\p{N}`);
    expect(bpePreTokenizer(qwen)).toBe('qwen2');
    expect(bpePreTokenizer({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true })).toBe('gpt-2');
    expect(bpePreTokenizer({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', use_regex: true }] })).toBe('smollm');
    expect(() => bpePreTokenizer({ type: 'Whitespace' })).toThrow(/not recognized/);
  });
});

describe('special tokens and chat template', () => {
  const spm = encodeModel([
    { piece: '<unk>', type: 2 },
    { piece: '<s>', type: 3 },
    { piece: '</s>', type: 3 },
    { piece: 'x', type: 1 },
  ]);

  it('takes ids from config.json when there is no tokenizer_config.json (the gcide fixture)', () => {
    const files: TokenizerFiles = { tokenizerModel: spm };
    const m = asMap(tokenizerMetadata(files, buildVocab(files, 4), { bos_token_id: 1, eos_token_id: 2, pad_token_id: null }));
    expect(m).toMatchObject({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.pre': 'default', 'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2 });
    expect(m['tokenizer.ggml.padding_token_id']).toBeUndefined();
    expect(m['tokenizer.ggml.add_bos_token']).toBeUndefined();
    expect(m['tokenizer.chat_template']).toBeUndefined();
  });

  it('reads tokenizer_config.json, special_tokens_map.json and generation_config.json', () => {
    const files: TokenizerFiles = {
      tokenizerModel: spm,
      tokenizerConfig: { bos_token: { content: '<s>' }, add_bos_token: true, add_eos_token: false, chat_template: '{{ messages }}', add_prefix_space: false },
      specialTokensMap: { unk_token: '<unk>', pad_token: '</s>' },
      generationConfig: { eos_token_id: [2, 3] },
    };
    const m = asMap(tokenizerMetadata(files, buildVocab(files, 4), {}));
    expect(m).toMatchObject({
      'tokenizer.ggml.add_space_prefix': false,
      'tokenizer.ggml.bos_token_id': 1,
      'tokenizer.ggml.eos_token_id': 2,
      'tokenizer.ggml.unknown_token_id': 0,
      'tokenizer.ggml.padding_token_id': 2,
      'tokenizer.ggml.add_bos_token': true,
      'tokenizer.ggml.add_eos_token': false,
      'tokenizer.chat_template': '{{ messages }}',
    });
  });

  it('resolves BPE special tokens through added_tokens and the post-processor, and named chat templates', () => {
    const files: TokenizerFiles = {
      tokenizerJson: bpeJson(['a b']),
      tokenizerConfig: {
        bos_token: '<|begin_of_text|>',
        eos_token: '<|end_of_text|>',
        chat_template: [
          { name: 'default', template: 'D' },
          { name: 'tool use', template: 'T' },
        ],
      },
    };
    const kvs = tokenizerMetadata(files, buildVocab(files, 8), { bos_token_id: 0 });
    const m = asMap(kvs);
    expect(m).toMatchObject({
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.bos_token_id': 4,
      'tokenizer.ggml.eos_token_id': 5,
      'tokenizer.ggml.add_bos_token': true,
      'tokenizer.chat_template': 'D',
      'tokenizer.chat_template.tool_use': 'T',
      'tokenizer.chat_templates': ['tool_use'],
    });
    expect(kvs.find((k) => k.key === 'tokenizer.ggml.merges')).toMatchObject({ type: 'array', arrayType: 'string', value: ['a b'] });
    expect(kvs.find((k) => k.key === 'tokenizer.ggml.token_type')).toMatchObject({ arrayType: 'i32' });
  });

  it('needs a tokenizer', () => {
    expect(() => buildVocab({}, 4)).toThrow(/neither tokenizer.model nor tokenizer.json/);
  });
});
