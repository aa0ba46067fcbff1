// qinfer against itself on one quantized file: the machine's best kernels against the AVX2 ones, which
// round activations the same way but sum in another order: the size of pure activation-rounding noise.
// Usage (after npm run compile): node scripts/cross-check/isa-noise.mjs <model.gguf> [prompts=5]
// Prints {positions, klMean, top1, maxLogitDiff} over the last 8 of 72 positions of each prompt
// (prompts from the README's text).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadModel } from '../../dist/model.js';
import { textSlices } from '../cross-check-llama-cpp.mjs';

const [path, n = '5'] = process.argv.slice(2);
const texts = textSlices(readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8'), Number(n), 512);
async function run(isa) {
  if (isa) process.env.QINFER_CPU_ISA = isa;
  else delete process.env.QINFER_CPU_ISA;
  const m = await loadModel(path, { threads: 2, contextSize: 128 });
  const out = [];
  for (const t of texts) {
    const ids = [1, ...m.tokenize(t, { addBos: false }).slice(0, 71)];
    const l = await m.evaluate(ids, { logits: 'all' });
    out.push(l.subarray((ids.length - 8) * m.vocabularySize));
  }
  const V = m.vocabularySize;
  m.close();
  return { out, V };
}
function logSoftmax(row) {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let z = 0;
  for (const v of row) z += Math.exp(v - max);
  return Float64Array.from(row, (v) => v - max - Math.log(z));
}

const a = await run(undefined);
const b = await run('avx2');
const V = a.V;
let kl = 0, agree = 0, positions = 0, maxLogitDiff = 0;
for (let p = 0; p < a.out.length; p++) {
  for (let s = 0; s < 8; s++) {
    const x = a.out[p].subarray(s * V, (s + 1) * V), y = b.out[p].subarray(s * V, (s + 1) * V);
    const lx = logSoftmax(x), ly = logSoftmax(y);
    let diff = 0, scale = 0, ax = 0, ay = 0;
    for (let t = 0; t < V; t++) {
      kl += Math.exp(ly[t]) * (ly[t] - lx[t]);
      diff = Math.max(diff, Math.abs(x[t] - y[t]));
      scale = Math.max(scale, Math.abs(y[t]));
      if (x[t] > x[ax]) ax = t;
      if (y[t] > y[ay]) ay = t;
    }
    agree += ax === ay;
    positions++;
    maxLogitDiff = Math.max(maxLogitDiff, diff / scale);
  }
}
console.log(JSON.stringify({ path, positions, klMean: kl / positions, top1: agree / positions, maxLogitDiff }));
