#!/usr/bin/env node
// Vulkan checks without vitest, for GPU-machine uploads too small for it (scripts/vulkan-speed-check.sh):
//   ops              every batched-product path (matvec, matvec with x too long to stage, the tiled and the
//                    cooperative-matrix shaders) of every quantized format against float64 products of the
//                    dequantized weights on fresh random inputs, with test/backends/gpu-matmul.test.ts's bounds
//   logits MODEL OUT the Vulkan backend's logits of a 40-token prompt and of the one-token step after it, to OUT
//   compare A B      two such files agree within 1e-5 of the largest logit (e.g. fused against QINFER_VULKAN_FUSE=0)
import { readFileSync, writeFileSync } from 'node:fs';

import { BackendOp } from '../dist/backend.js';
import { openBackend } from '../dist/backend-open.js';
import { native } from '../dist/binding.js';
import { loadModel } from '../dist/index.js';

const [mode, ...args] = process.argv.slice(2);
let seed = Number(process.env.SEED ?? Date.now() % 2 ** 31);
const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
const random = (n, scale = 1) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);

if (mode === 'ops') {
  const b = native();
  const vk = await openBackend('vulkan');
  const Q8_0 = 8;
  let failed = false;
  for (const f of b.quantFormats().filter((q) => q.vecDotType !== null && q.blockSize > 1)) {
    if (!vk.native.supportsOp(BackendOp.MATMUL, f.type)) continue;
    const cols = f.blockSize === 32 ? 96 : f.blockSize * 2;
    // [rows, cols, tokens]: matvec passes, unstaged x, the per-token and tiled shaders, the matrix units at partial tiles.
    const cases = [[37, cols, 1], [130, cols, 8], [9, 6400, 1], [70, cols, 5], [130, cols, 9], [70, cols, 65], [130, 512, 130]];
    let worst = 0;
    for (const [rows, c, tokens] of cases) {
      if (c % f.blockSize) continue;
      const w = b.quantizeRows(f.type, random(rows * c, 2), c);
      const x = random(tokens * c);
      const wf = b.dequantizeRows(f.type, w, rows * c);
      const xq = b.dequantizeRows(Q8_0, b.quantizeRows(Q8_0, x, c), tokens * c);
      const out = vk.native.run(BackendOp.MATMUL, f.type, [w, x], rows * tokens * 4, [c, rows, tokens, 0], []);
      const y = new Float32Array(out.buffer, out.byteOffset, rows * tokens);
      let exact = 0, rounded = 0, scale = 0;
      for (let t = 0; t < tokens; t++) {
        for (let r = 0; r < rows; r++) {
          let ref = 0, refq = 0, mag = 0;
          for (let k = 0; k < c; k++) {
            ref += wf[r * c + k] * x[t * c + k];
            refq += wf[r * c + k] * xq[t * c + k];
            mag += Math.abs(wf[r * c + k] * x[t * c + k]);
          }
          const v = y[t * rows + r];
          exact = Number.isFinite(v) ? Math.max(exact, Math.abs(v - ref)) : Infinity;
          rounded = Number.isFinite(v) ? Math.max(rounded, Math.abs(v - refq)) : Infinity;
          scale = Math.max(scale, mag);
        }
      }
      const e = Math.min(exact, rounded) / scale, bound = tokens <= 4 ? 1e-5 : 2e-3;
      worst = Math.max(worst, e);
      if (!(e < bound)) {
        failed = true;
        console.log(`FAIL ${f.name} ${rows}x${c}, ${tokens} tokens: error ${e.toExponential(2)} of the sum of |terms| (bound ${bound})`);
      }
    }
    console.log(`${f.name}: worst ${worst.toExponential(2)} of the sum of |terms|`);
  }
  process.exit(failed ? 1 : 0);
} else if (mode === 'logits') {
  const [path, out] = args;
  const m = await loadModel(path, { backend: 'vulkan', kvCacheType: 'f32', contextSize: 128, sequences: 1 });
  const v = m.vocabularySize;
  seed = 777;
  const prompt = Array.from({ length: 40 }, () => 3 + Math.floor(next() * (v - 3)));
  const all = await m.evaluate(prompt, { logits: 'all' });
  const step = await m.evaluate([...prompt, 7]);
  writeFileSync(out, Buffer.concat([Buffer.from(all.buffer, all.byteOffset, all.byteLength), Buffer.from(step.buffer, step.byteOffset, step.byteLength)]));
  m.close();
} else if (mode === 'compare') {
  const [a, b] = args.map((p) => new Float32Array(new Uint8Array(readFileSync(p)).buffer));
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) (num = Math.max(num, Math.abs(a[i] - b[i]))), (den = Math.max(den, Math.abs(b[i])));
  const e = num / den;
  console.log(`${args[0]} against ${args[1]}: within ${e.toExponential(2)} of the largest logit`);
  process.exit(a.length === b.length && e < 1e-5 ? 0 : 1);
} else {
  console.error('usage: vulkan-device-check.mjs ops | logits MODEL OUT | compare A B');
  process.exit(2);
}
