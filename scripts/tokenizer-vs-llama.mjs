// Compares qinfer's tokenizer with llama.cpp's (through node-llama-cpp) on GGUF vocabularies:
// seeded random strings of mixed scripts, whitespace and special-token texts, with and without
// special-token parsing, plus slices of a text file; prints the mismatches. Needs `npm run compile`.
//   node scripts/tokenizer-vs-llama.mjs [--nlc DIR] [--text FILE] [--seed N] file.gguf...
// DIR: an installed node-llama-cpp package (default: $NLC_DIR).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { loadTokenizer } from '../dist/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { nlc: { type: 'string', default: process.env.NLC_DIR }, text: { type: 'string' }, seed: { type: 'string', default: '1234' } },
});
if (!values.nlc || positionals.length === 0) {
  console.error('usage: node scripts/tokenizer-vs-llama.mjs --nlc <node-llama-cpp dir> [--text FILE] [--seed N] file.gguf...');
  process.exit(2);
}
const { getLlama } = await import(join(resolve(values.nlc), 'dist', 'index.js'));
const llama = await getLlama({ gpu: false, logLevel: 'error' });

let seed = Number(values.seed);
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const parts = [' ', '  ', '\n', '\r\n', '\t', 'a', 'The', "'s", "'LL", '123', '4567890', '½', 'é', 'ü', '中文', '😀', '🦙',
  '\u2581', '\u00a0', '\u0085', '\u3000', '!!', '...', '<s>', '</s>', '<|endoftext|>', '<|im_start|>', '<|eot_id|>',
  '<|user|>', 'Ä', 'ā', 'ق', 'क्ष', '\u200d', '\ufeff', '$', '^', '~', '|', '@', 'x', 'ID', '  \n ', '\u0301'];
const texts = [];
for (let i = 0; i < 400; i++) {
  let s = '';
  for (let j = 0, n = 1 + Math.floor(random() * 12); j < n; j++) s += parts[Math.floor(random() * parts.length)];
  texts.push(s);
}
if (values.text) {
  const big = readFileSync(values.text, 'utf8');
  for (let start = 0; start < big.length; start += 50_000) texts.push(big.slice(start, start + 20_000));
}

let failed = false;
for (const path of positionals) {
  const ours = await loadTokenizer(path);
  const theirs = await llama.loadModel({ modelPath: path, vocabOnly: true });
  let mismatches = 0;
  for (const parseSpecial of [false, true]) {
    for (const text of texts) {
      const want = Array.from(theirs.tokenize(text, parseSpecial));
      const got = ours.encode(text, { addBos: false, addEos: false, parseSpecial });
      if (want.join(' ') === got.join(' ')) continue;
      if (mismatches++ < 5) {
        console.log(`${path} parseSpecial=${parseSpecial} ${JSON.stringify(text).slice(0, 200)}\n  llama.cpp ${want.join(' ')}\n  qinfer    ${got.join(' ')}`);
      }
    }
  }
  console.log(`${path}: ${texts.length * 2} texts, ${mismatches} mismatches`);
  failed ||= mismatches > 0;
  await theirs.dispose();
}
process.exit(failed ? 1 : 0);
