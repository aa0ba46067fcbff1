#!/usr/bin/env node
// gcide-llama-25m on one backend against transformers' float64 reference logits (the fixture's reference.json and
// ref_logits.f32): every position's logits within 1e-3 of its largest, and the 32 greedy tokens of each prompt.
// A bf16 GGUF (the checkpoint's own type, half the bytes to carry) is widened to f32 first, as convert --type f32 does.
//   node scripts/gpu-gcide-check.mjs <gcide.gguf> <fixture dir> <backend>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ggufWriteSpecOf, loadModel, readGguf, writeGguf } from '../dist/index.js';

const BF16 = 30;
const [input, fixture, backend] = process.argv.slice(2);
const file = await readGguf(input);
let path = input;
if (file.tensors.some((t) => t.type === BF16)) {
  path = input.replace(/\.gguf$/, '') + '-f32.gguf';
  const spec = ggufWriteSpecOf(file, path);
  for (const t of spec.tensors) if (t.type === BF16) (t.type = 0), (t.source.dtype = 'bf16');
  await writeGguf(spec);
}
const reference = JSON.parse(readFileSync(join(fixture, 'reference.json'), 'utf8'));
const ref = new Float32Array(readFileSync(join(fixture, 'ref_logits.f32')).buffer.slice(0));
const model = await loadModel(path, { backend, kvCacheType: 'f32', sequences: 1 });
let worst = 0, failures = 0;
for (const [i, p] of reference.prompts.entries()) {
  const [positions, vocab] = p.logits_shape;
  const got = await model.evaluate(p.ids, { logits: 'all' });
  for (let pos = 0; pos < positions; pos++) {
    const r = ref.subarray(p.logits_offset + pos * vocab, p.logits_offset + (pos + 1) * vocab);
    let num = 0, den = 0;
    for (let v = 0; v < vocab; v++) {
      num = Math.max(num, Math.abs(got[pos * vocab + v] - r[v]));
      den = Math.max(den, Math.abs(r[v]));
    }
    worst = Math.max(worst, num / den);
    if (num / den > 1e-3) failures++;
  }
  const tokens = (await model.generate(p.ids, { maxTokens: p.greedy_continuation.length, ignoreEog: true }).summary).tokens;
  const same = tokens.every((t, j) => t === p.greedy_continuation[j]);
  if (!same) failures++;
  console.log(`gcide ${backend} prompt ${i}: ${positions} positions, greedy ${same ? 'identical' : `differs: ${tokens} vs ${p.greedy_continuation}`}`);
}
model.close();
console.log(`gcide ${backend}: worst per-position logit error ${worst.toExponential(2)} of the largest logit; ${failures ? 'FAIL' : 'pass'}`);
process.exit(failures ? 1 : 0);
