// qinfer's quantized products round their activations no more coarsely than llama.cpp's CPU backend, which
// quantizes the activations of every quantized matrix product to Q8_0/Q8_1 (blocks of 32, fp16 scale) or
// Q8_K (blocks of 256, f32 scale) before the integer dot product. That rounding is why the two programs'
// logits on quantized files differ by more than on F32 files (README: Cross-check with llama.cpp).
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { runnableLevels, withIsa } from '../kernels/isa-levels.js';
import { roundActivations } from '../helpers/activation-rounding.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';

const b = native();
const formats = b.quantFormats().filter((f) => f.vecDotType !== null && f.blockSize > 1);
const Q8_K = 15;

/** x as llama.cpp's CPU backend rounds it for a product with weights whose activation type is `vecDotType`. */
function llamaCppActivations(x: Float32Array, vecDotType: number): Float64Array {
  return vecDotType === Q8_K ? roundActivations(x, 256, 'f32') : roundActivations(x, 32, 'f16');
}

describe(`activation rounding of quantized products against llama.cpp's (seed ${testSeed})`, () => {
  for (const f of formats) {
    it(`${f.name}: error from rounding the activations no larger than llama.cpp's at ${runnableLevels.join(', ')}`, () => {
      const next = rng(testSeed + f.type);
      const rows = 128, cols = 1024, nTokens = 4;
      const w = b.quantizeRows(f.type, randomF32(rows * cols, next), cols);
      const wf = b.dequantizeRows(f.type, w, rows * cols);
      // Activations with outliers, like a model's: rounding error grows with each block's largest value.
      const x = randomF32(cols * nTokens, next).map((v) => (next() < 0.02 ? v * 20 : v));
      const exact = new Float64Array(rows * nTokens), theirs = new Float64Array(rows * nTokens);
      for (let t = 0; t < nTokens; t++) {
        const xt = x.subarray(t * cols, (t + 1) * cols), xq = llamaCppActivations(xt, f.vecDotType!);
        for (let r = 0; r < rows; r++) {
          let e = 0, q = 0;
          for (let c = 0; c < cols; c++) {
            e += wf[r * cols + c]! * xt[c]!;
            q += wf[r * cols + c]! * xq[c]!;
          }
          exact[t * rows + r] = e;
          theirs[t * rows + r] = q;
        }
      }
      const rms = (y: ArrayLike<number>) => Math.sqrt(Array.from(exact, (e, i) => (y[i]! - e) ** 2).reduce((a, v) => a + v, 0) / exact.length);
      const reference = rms(theirs);
      for (const level of runnableLevels) {
        const ours = rms(withIsa(level, () => b.cpuMatmul(f.type, w, rows, cols, x, nTokens)));
        console.log(`${f.name} ${level}: rms error from activation rounding ${ours.toExponential(3)}, llama.cpp's ${reference.toExponential(3)}`);
        // 5% over llama.cpp's leaves room for sampling noise; a coarser scheme (one scale per 256 where
        // llama.cpp uses 32) is about 2x on these activations.
        expect(ours, level).toBeLessThanOrEqual(reference * 1.05);
        expect(ours, `${level}: rounds the activations at all`).toBeGreaterThan(0);
      }
    });
  }
});
