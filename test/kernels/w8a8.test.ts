// W8A8 products (int8 weights x per-token int8 activations) at every ISA level against a TypeScript
// reference of the format, on fresh random inputs and awkward shapes.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';
import { runnableLevels, withIsa } from './isa-levels.js';

const b = native();

// Round half to even, as the kernels' nearbyint and SIMD conversions do.
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The format's rounding: symmetric over [-127, 127] with scale max|x| / 127, the product x · (1 / scale) in float.
function quantizeRow(x: Float32Array): { q: Int8Array; scale: number } {
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const scale = Math.fround(amax / 127);
  const q = new Int8Array(x.length);
  const inv = Math.fround(1 / scale);
  if (scale > 0) for (let i = 0; i < x.length; i++) q[i] = Math.max(-127, Math.min(127, roundEven(Math.fround(x[i]! * inv))));
  return { q, scale };
}

describe(`CPU W8A8 products (seed ${testSeed})`, () => {
  it(`match the reference at ${runnableLevels.join(', ')}`, () => {
    const next = rng(testSeed);
    for (const [rows, cols] of [[1, 1], [3, 31], [17, 64], [33, 100], [5, 4099]] as const) {
      for (const nTokens of [1, 3, 6]) {
        const w = new Int8Array(rows * cols);
        const scales = new Float32Array(rows);
        const wf = randomF32(rows * cols, next, 2);
        for (let r = 0; r < rows; r++) {
          const { q, scale } = quantizeRow(wf.subarray(r * cols, (r + 1) * cols));
          w.set(q, r * cols);
          scales[r] = scale;
        }
        // Outliers in some tokens: per-token scales must keep the other tokens precise.
        const x = randomF32(cols * nTokens, next);
        if (nTokens > 1) x[cols + Math.floor(next() * cols)] = 40;
        const ref = new Float64Array(rows * nTokens);
        const bound = new Float64Array(rows * nTokens);
        for (let t = 0; t < nTokens; t++) {
          const { q: a, scale: as } = quantizeRow(x.subarray(t * cols, (t + 1) * cols));
          for (let r = 0; r < rows; r++) {
            let dot = 0;
            let maxW = 0;
            for (let c = 0; c < cols; c++) {
              dot += w[r * cols + c]! * a[c]!;
              maxW = Math.max(maxW, Math.abs(w[r * cols + c]!));
            }
            ref[t * rows + r] = dot * scales[r]! * as;
            // One activation rounded the other way (ties, float division) moves the sum by at most |w| * scales.
            bound[t * rows + r] = 1e-5 * Math.abs(ref[t * rows + r]!) + maxW * scales[r]! * as + 1e-30;
          }
        }
        for (const level of runnableLevels) {
          const y = withIsa(level, () => b.cpuMatmulW8a8(w, scales, rows, cols, x, nTokens));
          const where = `${level}, ${rows}x${cols}, ${nTokens} tokens`;
          expect(y.some(Number.isNaN), `unwritten outputs at ${where}`).toBe(false);
          for (let i = 0; i < ref.length; i++) {
            if (Math.abs(y[i]! - ref[i]!) > bound[i]!) expect(y[i], `${where}, output ${i}`).toBeCloseTo(ref[i]!, 6);
          }
          // The reference rounds as the kernels do, so the integer sums agree (float sums may still differ in the last bits).
          let exact = 0;
          for (let i = 0; i < ref.length; i++) if (Math.abs(y[i]! - ref[i]!) <= 1e-5 * Math.abs(ref[i]!) + 1e-30) exact++;
          expect(exact / ref.length, where).toBeGreaterThan(0.99);
        }
      }
    }
  });

  it('rejects mismatched sizes', () => {
    expect(() => b.cpuMatmulW8a8(new Int8Array(6), new Float32Array(2), 2, 4, new Float32Array(4), 1)).toThrow(/rows \* cols/);
  });
});
