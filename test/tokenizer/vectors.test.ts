// llama.cpp's tokenizer test vectors for every fixture vocabulary, and decoding them back.
import { beforeAll, describe, expect, it } from 'vitest';

import type { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { loadVocab, readVectors, VOCABS } from './vocab-fixtures.js';

describe.each(VOCABS)('vocabulary %s', (name) => {
  let tok: Tokenizer;
  const vectors = readVectors(name);

  beforeAll(async () => {
    tok = await loadVocab(name);
  });

  it(`reproduces llama.cpp's ids for all ${vectors.length} test strings`, () => {
    const mismatches = vectors
      .map(({ text, ids }) => ({ text, want: ids, got: tok.encode(text, { addBos: false, addEos: false }) }))
      .filter(({ want, got }) => want.join(' ') !== got.join(' '));
    expect(mismatches).toEqual([]);
  });

  it('decodes every test vector back to its text', () => {
    for (const { text, ids } of vectors) expect(tok.decode(ids)).toBe(text);
  });

  it('decodes token by token with the stream decoder to the same text', () => {
    for (const { text, ids } of vectors) {
      const stream = tok.createStreamDecoder();
      const chunks = ids.map((id) => stream.push(id));
      chunks.push(stream.flush());
      expect(chunks.join('')).toBe(text);
      // Each chunk is whole characters: no replacement character from a split sequence.
      for (const chunk of chunks) expect(chunk).not.toContain('\uFFFD');
    }
  });
});
