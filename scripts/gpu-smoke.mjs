#!/usr/bin/env node
// Whole models on a GPU backend against the CPU backend without vitest (for uploads too small for it): logits of a
// 40-token prompt, the one-token step after it, and 24 greedy tokens (a divergence must be a near-tie of the CPU's).
// A coarse check (1e-1 of the largest logit: the CPU rounds activations to 8 bits before quantized products, which
// moves random-weight models' logits by a few 1e-2); test/gpu holds the exact ones.
//   node scripts/gpu-smoke.mjs <backend> <model.gguf>...
import { loadModel } from '../dist/index.js';

const [backend, ...paths] = process.argv.slice(2);
let failed = false;
const err = (a, b) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) (num = Math.max(num, Math.abs(a[i] - b[i]))), (den = Math.max(den, Math.abs(b[i])));
  return num / den;
};
for (const path of paths) {
  const opts = { kvCacheType: 'f32', contextSize: 128, sequences: 2 };
  const cpu = await loadModel(path, { ...opts, backend: 'cpu' });
  const dev = await loadModel(path, { ...opts, backend });
  const v = cpu.vocabularySize;
  let s = 12345;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
  const prompt = Array.from({ length: 40 }, () => 3 + Math.floor(next() * (v - 3)));
  const a = await cpu.evaluate(prompt, { logits: 'all' }), b = await dev.evaluate(prompt, { logits: 'all' });
  let worst = 0;
  for (let p = 0; p < prompt.length; p++) worst = Math.max(worst, err(b.subarray(p * v, (p + 1) * v), a.subarray(p * v, (p + 1) * v)));
  const extended = [...prompt, 7];
  const step = err(await dev.evaluate(extended), await cpu.evaluate(extended));
  const greedy = async (m) => (await m.generate(prompt.slice(0, 5), { maxTokens: 24, ignoreEog: true }).summary).tokens;
  const ga = await greedy(cpu), gb = await greedy(dev);
  const k = ga.findIndex((t, j) => t !== gb[j]);
  let note = 'greedy identical';
  if (k >= 0) {
    const last = await cpu.evaluate([...prompt.slice(0, 5), ...ga.slice(0, k)]);
    const sorted = [...last].sort((x, y) => y - x), scale = Math.max(...Array.from(last, Math.abs));
    const margin = (sorted[0] - sorted[1]) / scale;
    note = `greedy parts at step ${k} (CPU margin ${margin.toExponential(1)})`;
    if (margin > 1e-1 || last[gb[k]] !== sorted[1]) failed = true;
  }
  if (worst > 1e-1 || step > 1e-1) failed = true;
  console.log(`${backend} ${path.split('/').pop()}: prompt logits within ${worst.toExponential(2)}, one-token step ${step.toExponential(2)} of the CPU's; ${note}`);
  cpu.close();
  dev.close();
}
process.exit(failed ? 1 : 0);
