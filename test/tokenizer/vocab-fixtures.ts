// Loads the llama.cpp vocabulary fixtures (gzipped GGUF files in test/fixtures/vocab) and their
// test vectors: `.inp` strings separated by `__ggml_vocab_test__` lines, `.out` ids per line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { readGguf } from '../../lib/gguf.js';
import type { TokenizerData } from '../../lib/tokenizer/data.js';
import { tokenizerDataFromGguf } from '../../lib/tokenizer/gguf.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';

export const VOCABS = ['llama-spm', 'llama-bpe', 'gpt-2', 'qwen2', 'phi-3'] as const;
export type VocabName = (typeof VOCABS)[number];

const dir = fileURLToPath(new URL('../fixtures/vocab/', import.meta.url));

/** Runs `use` on the vocabulary's GGUF file, unpacked to a temporary file that is removed after. */
export async function withVocabFile<T>(name: VocabName, use: (path: string) => Promise<T>): Promise<T> {
  const tmp = mkdtempSync(join(tmpdir(), 'qinfer-vocab-'));
  try {
    const path = join(tmp, `ggml-vocab-${name}.gguf`);
    writeFileSync(path, gunzipSync(readFileSync(join(dir, `ggml-vocab-${name}.gguf.gz`))));
    return await use(path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function loadVocabData(name: VocabName): Promise<TokenizerData> {
  return withVocabFile(name, async (path) => tokenizerDataFromGguf(await readGguf(path)));
}

export async function loadVocab(name: VocabName): Promise<Tokenizer> {
  return new Tokenizer(await loadVocabData(name));
}

export interface Vector {
  text: string;
  ids: number[];
}

export function readVectors(name: VocabName): Vector[] {
  const inputs = readFileSync(join(dir, `ggml-vocab-${name}.gguf.inp`), 'utf8').split('\n__ggml_vocab_test__\n');
  // The file ends with a separator line: the last split is empty and no test.
  if (inputs.at(-1) === '') inputs.pop();
  const outputs = readFileSync(join(dir, `ggml-vocab-${name}.gguf.out`), 'utf8').split('\n');
  if (outputs.length < inputs.length) throw new Error(`${name}: ${inputs.length} inputs but ${outputs.length} outputs`);
  return inputs.map((text, i) => {
    const line = outputs[i]!.trim();
    return { text, ids: line === '' ? [] : line.split(' ').map(Number) };
  });
}
