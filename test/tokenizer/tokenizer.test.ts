// Tokenizer behaviour beyond the vectors: BOS/EOS, special tokens, byte fallback, streaming
// decode of characters split over tokens, the default BPE pre-tokenizer.
import { beforeAll, describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../lib/errors.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { rng, testSeed } from '../helpers/random.js';
import { loadVocab, loadVocabData, type VocabName } from './vocab-fixtures.js';

const toks = {} as Record<VocabName, Tokenizer>;

beforeAll(async () => {
  for (const name of ['llama-spm', 'llama-bpe', 'gpt-2', 'qwen2', 'phi-3'] as const) toks[name] = await loadVocab(name);
});

describe('BOS and EOS', () => {
  it('follow the vocabulary by default and the options when given', () => {
    const spm = toks['llama-spm'];
    const body = spm.encode('Hello world', { addBos: false });
    expect(spm.addBos).toBe(true);
    expect(spm.encode('Hello world')).toEqual([spm.bosId, ...body]);
    expect(spm.encode('Hello world', { addEos: true })).toEqual([spm.bosId, ...body, spm.eosId]);
    expect(spm.encode('')).toEqual([spm.bosId]);
    // Llama 3 adds BOS (llama.cpp's rule for its pre-tokenizer), Qwen2 does not.
    expect(toks['llama-bpe'].encode('Hi')[0]).toBe(toks['llama-bpe'].bosId);
    expect(toks['qwen2'].encode('Hi')).toEqual(toks['qwen2'].encode('Hi', { addBos: false }));
  });

  it('end-of-generation tokens include EOS and the end-of-turn token', () => {
    const llama3 = toks['llama-bpe'];
    expect(llama3.eotId).toBe(llama3.tokenId('<|eot_id|>'));
    expect(llama3.isEog(llama3.eosId!)).toBe(true);
    expect(llama3.isEog(llama3.tokenId('<|eot_id|>')!)).toBe(true);
    expect(llama3.isEog(llama3.tokenId('<|start_header_id|>')!)).toBe(false);
    expect(toks['qwen2'].eotId).toBe(toks['qwen2'].tokenId('<|im_end|>'));
    expect(toks['phi-3'].isEog(toks['phi-3'].tokenId('<|end|>')!)).toBe(true);
    expect(toks['llama-spm'].isEog(toks['llama-spm'].tokenId('▁Hello')!)).toBe(false);
    for (const tok of Object.values(toks)) {
      const all = Array.from({ length: tok.vocabSize }, (_, i) => i);
      expect(tok.eogIds).toEqual(all.filter((i) => tok.isEog(i)));
    }
  });
});

describe('special tokens', () => {
  it('are recognized in the text only with parseSpecial', () => {
    const llama3 = toks['llama-bpe'];
    const header = llama3.tokenId('<|start_header_id|>')!;
    const text = '<|start_header_id|>user<|end_header_id|>';
    const parsed = llama3.encode(text, { addBos: false, parseSpecial: true });
    expect(parsed).toEqual([header, ...llama3.encode('user', { addBos: false }), llama3.tokenId('<|end_header_id|>')]);
    const plain = llama3.encode(text, { addBos: false });
    expect(plain).not.toContain(header);
    expect(llama3.decode(plain)).toBe(text);
  });

  it('restart the SentencePiece space prefix after them, and strip what Phi-3 asks', () => {
    const phi3 = toks['phi-3'];
    const hi = phi3.encode('Hi', { addBos: false });
    // Phi-3's special tokens eat the whitespace that follows them (llama.cpp's rstrip).
    expect(phi3.encode('<|user|>\nHi<|end|>', { addBos: false, parseSpecial: true })).toEqual([
      phi3.tokenId('<|user|>'),
      ...hi,
      phi3.tokenId('<|end|>'),
    ]);
    const spm = toks['llama-spm'];
    expect(spm.encode('<s>Hi', { addBos: false, parseSpecial: true })).toEqual([spm.bosId, ...spm.encode('Hi', { addBos: false })]);
  });

  it('render as text only when asked', () => {
    const qwen = toks['qwen2'];
    const ids = qwen.encode('<|im_start|>user\nHi<|im_end|>', { parseSpecial: true });
    expect(qwen.decode(ids)).toBe('user\nHi');
    expect(qwen.decode(ids, { special: true })).toBe('<|im_start|>user\nHi<|im_end|>');
    expect(qwen.isSpecial(ids[0]!)).toBe(true);
    expect(qwen.tokenToPiece(ids[0]!)).toBe('<|im_start|>');
  });
});

describe('SentencePiece byte fallback and leading space', () => {
  it('spells characters outside the vocabulary as UTF-8 byte tokens', () => {
    const spm = toks['llama-spm'];
    const ids = spm.encode('🦙', { addBos: false });
    const bytes = [...new TextEncoder().encode('🦙')];
    expect(ids.slice(-4).map((id) => spm.tokenText(id))).toEqual(bytes.map((b) => `<0x${b.toString(16).toUpperCase()}>`));
    expect(ids.slice(-4).map((id) => [...spm.tokenToBytes(id)])).toEqual(bytes.map((b) => [b]));
  });

  it('drops the leading space of the first word only at the start of a text', () => {
    const spm = toks['llama-spm'];
    const ids = spm.encode('Hello world');
    expect(spm.decode(ids)).toBe('Hello world');
    expect(spm.decode(ids, { special: true })).toBe('<s> Hello world');
    expect(spm.decode(ids.slice(1), { stripLeadingSpace: false })).toBe(' Hello world');
    // A continuation keeps its space.
    const stream = spm.createStreamDecoder({ stripLeadingSpace: false });
    expect(ids.slice(1).map((id) => stream.push(id)).join('')).toBe(' Hello world');
  });
});

describe('SentencePiece without add_space_prefix', () => {
  it('puts no space before the text and keeps the first space when decoding', async () => {
    const withPrefix = toks['llama-spm'];
    const tok = new Tokenizer({ ...(await loadVocabData('llama-spm')), addSpacePrefix: false });
    expect(tok.encode(' Hello world')).toEqual(withPrefix.encode('Hello world'));
    expect(tok.encode('Hello')).not.toEqual(withPrefix.encode('Hello'));
    expect(tok.decode(tok.encode(' Hello world'))).toBe(' Hello world');
  });
});

describe('stream decoder', () => {
  // Characters of 2, 3 and 4 UTF-8 bytes that the vocabularies split over several tokens.
  const text = 'é中文🦙 naïve 😀👍🏽 ½ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢';

  it.each(['llama-spm', 'gpt-2', 'llama-bpe', 'qwen2'] as const)('%s: emits each character once its last byte arrives', (name) => {
    const tok = toks[name];
    const ids = tok.encode(text, { addBos: false });
    // Keep SentencePiece's leading space so that the emitted text is all the bytes received.
    const stream = tok.createStreamDecoder({ stripLeadingSpace: false });
    let emitted = '';
    let received = new Uint8Array(0);
    let heldBack = 0;
    for (const id of ids) {
      emitted += stream.push(id);
      received = new Uint8Array([...received, ...tok.tokenToBytes(id, { special: false })]);
      const complete = completeLength(received);
      if (complete < received.length) heldBack++;
      expect(new TextEncoder().encode(emitted).length).toBe(complete);
    }
    expect(emitted + stream.flush()).toBe(tok.decode(ids, { stripLeadingSpace: false }));
    expect(tok.decode(ids)).toBe(text);
    expect(heldBack).toBeGreaterThan(0);
  });

  it('flushes an unfinished character as U+FFFD', () => {
    const spm = toks['llama-spm'];
    const stream = spm.createStreamDecoder();
    const first = spm.tokenId('<0xF0>')!;
    expect(stream.push(first)).toBe('');
    expect(stream.flush()).toBe('\uFFFD');
  });

  it('random byte-token sequences decode the same streamed and whole', () => {
    const next = rng();
    const spm = toks['llama-spm'];
    const byteIds = Array.from({ length: 256 }, (_, b) => spm.tokenId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!);
    for (let round = 0; round < 50; round++) {
      const ids = Array.from({ length: 1 + Math.floor(next() * 12) }, () =>
        next() < 0.5 ? byteIds[Math.floor(next() * 256)]! : Math.floor(next() * spm.vocabSize),
      );
      const stream = spm.createStreamDecoder();
      const streamed = ids.map((id) => stream.push(id)).join('') + stream.flush();
      expect(streamed, `seed ${testSeed} ids ${ids.join(' ')}`).toBe(spm.decode(ids));
    }
  });
});

describe('round trips', () => {
  it('decode(encode(text)) gives the text back for random Unicode text', () => {
    const next = rng();
    const pick = (s: string[]) => s[Math.floor(next() * s.length)]!;
    // No U+2581: SentencePiece vocabularies cannot tell it from an escaped space.
    const parts = [' ', '  ', '\n', '\t', 'word', "'s", '42', '12345', 'é', '中', '🦙', '\u00a0', '\u3000', '!?', 'Ġ', '\r\n'];
    for (const name of ['llama-spm', 'llama-bpe', 'gpt-2', 'qwen2', 'phi-3'] as const) {
      for (let round = 0; round < 40; round++) {
        let text = '';
        for (let i = 0, n = 1 + Math.floor(next() * 10); i < n; i++) text += pick(parts);
        // A random code point from the BMP or beyond (no surrogates).
        const cp = Math.floor(next() * 0x30000);
        if (cp < 0xd800 || cp > 0xdfff) text += String.fromCodePoint(cp);
        const ids = toks[name].encode(text);
        expect(toks[name].decode(ids), `seed ${testSeed} ${name} ${JSON.stringify(text)}`).toBe(text);
      }
    }
  });
});

describe('malformed text', () => {
  it('encodes lone surrogates as U+FFFD', () => {
    for (const tok of Object.values(toks)) {
      expect(tok.encode('a\uD800b\uDFFF')).toEqual(tok.encode('a\uFFFDb\uFFFD'));
    }
  });
});

describe('default BPE pre-tokenizer', () => {
  it('cuts punctuation runs, then GPT-2 words, then digit runs into threes', async () => {
    const gpt2 = toks['gpt-2'];
    const data = { ...(await loadVocabData('gpt-2')), pre: 'default' };
    const tok = new Tokenizer(data);
    const words = ['Hello', ',', ' world', '!!!', ' ', '123', '45'];
    const expected = words.flatMap((w) => gpt2.encode(w));
    expect(tok.encode('Hello, world!!! 12345')).toEqual(expected);
    expect(new Tokenizer({ ...data, pre: undefined }).encode('Hello, world!!! 12345')).toEqual(expected);
  });
});

describe('argument checks', () => {
  it('rejects ids outside the vocabulary and non-string text', () => {
    const spm = toks['llama-spm'];
    expect(() => spm.decode([spm.vocabSize])).toThrow(InvalidArgumentError);
    expect(() => spm.decode([1.5])).toThrow(InvalidArgumentError);
    expect(() => spm.createStreamDecoder().push(-1)).toThrow(InvalidArgumentError);
    expect(() => spm.encode(42 as unknown as string)).toThrow('Expected a string for option text but received 42');
    expect(() => spm.encode('x', { addBos: 'yes' as unknown as boolean })).toThrow(InvalidArgumentError);
  });
});

/** How many leading bytes form whole UTF-8 characters (an unfinished last one excluded). */
function completeLength(bytes: Uint8Array): number {
  let lead = bytes.length - 1;
  while (lead >= 0 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return 0;
  const b = bytes[lead]!;
  const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
  return bytes.length - lead >= need ? bytes.length : lead;
}
