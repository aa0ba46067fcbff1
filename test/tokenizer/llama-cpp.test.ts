// qinfer's token ids against llama.cpp's (node-llama-cpp, CPU) on fresh random strings of mixed
// scripts, whitespace and special-token texts, with and without special-token parsing, for every
// fixture vocabulary, for the GPT-2 vocabulary under each family of pre-tokenizers, plus GGUF
// files listed in QINFER_TOKENIZER_GGUF (colon-separated) and slices of GCIDE text where
// ../shared exists.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { ggufWriteSpecOf, readGguf, writeGguf } from '../../lib/gguf.js';
import { loadTokenizer } from '../../lib/tokenizer/gguf.js';
import { rng, testSeed } from '../helpers/random.js';
import { VOCABS, withVocabFile } from './vocab-fixtures.js';

type NlcModel = { tokenize(text: string, special: boolean): number[]; dispose(): Promise<void> };
type Nlc = { loadModel(options: { modelPath: string; vocabOnly: boolean }): Promise<NlcModel> };

async function openLlamaCpp(): Promise<Nlc | string> {
  try {
    const { getLlama } = await import('node-llama-cpp');
    return (await getLlama({ gpu: false, logLevel: 'disabled' as never })) as unknown as Nlc;
  } catch (err) {
    return (err as Error).message;
  }
}

const llama = await openLlamaCpp();
if (typeof llama === 'string') console.log(`skipping the comparison with llama.cpp's tokenizer: ${llama}`);

const PARTS = [' ', '  ', '\n', '\r\n', '\t', 'a', 'The', "'s", "'LL", '123', '4567890', '½', 'é', 'ü', '中文', '😀', '🦙',
  '\u2581', '\u00a0', '\u0085', '\u3000', '!!', '...', '<s>', '</s>', '<|endoftext|>', '<|im_start|>', '<|eot_id|>',
  '<|user|>', 'Ä', 'ā', 'ق', 'क्ष', '\u200d', '\ufeff', '$', '^', '~', '|', '@', 'x', 'ID', '  \n ', '\u0301'];

function texts(): string[] {
  const next = rng();
  const out: string[] = [];
  for (let i = 0; i < 300; i++) {
    let s = '';
    for (let j = 0, n = 1 + Math.floor(next() * 12); j < n; j++) s += PARTS[Math.floor(next() * PARTS.length)];
    out.push(s);
  }
  const gcide = '../shared/fixtures/text/gcide-train-2mb.txt';
  if (existsSync(gcide)) {
    const big = readFileSync(gcide, 'utf8');
    for (let start = 0; start < big.length; start += 100_000) out.push(big.slice(start, start + 10_000));
  }
  return out;
}

async function compare(path: string): Promise<void> {
  const ours = await loadTokenizer(path);
  const theirs = await (llama as Nlc).loadModel({ modelPath: path, vocabOnly: true });
  try {
    const mismatches: string[] = [];
    const strings = texts();
    for (const parseSpecial of [false, true]) {
      for (const text of strings) {
        const want = Array.from(theirs.tokenize(text, parseSpecial)).join(' ');
        const got = ours.encode(text, { addBos: false, addEos: false, parseSpecial }).join(' ');
        if (want !== got) mismatches.push(`parseSpecial=${parseSpecial} ${JSON.stringify(text)}: llama.cpp ${want}, qinfer ${got}`);
      }
    }
    expect(mismatches.slice(0, 5), `seed ${testSeed}, ${mismatches.length} mismatches`).toEqual([]);
  } finally {
    await theirs.dispose();
  }
}

const extra = (process.env.QINFER_TOKENIZER_GGUF ?? '').split(':').filter((p) => p !== '');

// One tokenizer.ggml.pre name per family of regexes (llama-bpe and dbrx differ in ignore_merges).
const PRE_FAMILIES = ['default', 'llama-bpe', 'dbrx', 'qwen2', 'smollm', 'falcon', 'tekken', 'gpt-4o'];

/** The GPT-2 vocabulary written to a GGUF file next to it with another pre-tokenizer name. */
async function withPreTokenizer(path: string, pre: string): Promise<string> {
  const file = await readGguf(path);
  const out = path.replace(/\.gguf$/, `-${pre}.gguf`);
  const metadata = file.metadata.map((kv) => (kv.key === 'tokenizer.ggml.pre' ? { ...kv, value: pre } : kv));
  await writeGguf({ ...ggufWriteSpecOf(file, out), metadata });
  return out;
}

describe.skipIf(typeof llama === 'string')("llama.cpp's tokenizer", () => {
  it.each(VOCABS)('%s gives the same ids', (name) => withVocabFile(name, compare));
  it.each(PRE_FAMILIES)('the gpt-2 vocabulary with pre-tokenizer %s gives the same ids', (pre) =>
    withVocabFile('gpt-2', async (path) => compare(await withPreTokenizer(path, pre))),
  );
  it.each(extra)('%s gives the same ids', (path) => compare(path));
});
