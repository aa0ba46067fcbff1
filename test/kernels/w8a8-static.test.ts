// W8A8 static products (int8 weights x activations quantized with one fixed, calibrated scale, clamped) at every
// ISA level: against a TypeScript reference of the format, and bit for bit against the generic level.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';
import { runnableLevels, withIsa } from './isa-levels.js';

const b = native();

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The format's rounding with a given scale: x * (1 / scale) in float32, to nearest even, clamped to [-127, 127]. */
function quantizeWith(x: Float32Array, scale: number): Int8Array {
  const inv = Math.fround(1 / scale);
  const q = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) q[i] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(x[i]! * inv))));
  return q;
}

describe(`CPU W8A8 static products (seed ${testSeed})`, () => {
  it(`match the reference and the generic level at ${runnableLevels.join(', ')}`, () => {
    const next = rng(testSeed);
    for (const [rows, cols] of [[1, 1], [3, 31], [17, 64], [33, 100], [5, 4099], [2, 47]] as const) {
      for (const nTokens of [1, 3, 6]) {
        const w = new Int8Array(rows * cols);
        const scales = new Float32Array(rows);
        for (let r = 0; r < rows; r++) {
          scales[r] = Math.fround(0.01 + next() * 0.05);
          for (let c = 0; c < cols; c++) w[r * cols + c] = Math.floor(next() * 255) - 127;
        }
        // A calibrated clip below the largest values: the tokens' outliers must clamp at +-127 steps.
        const x = randomF32(cols * nTokens, next, 2);
        x[Math.floor(next() * x.length)] = 40;
        x[Math.floor(next() * x.length)] = -40;
        const actScale = Math.fround(1.5 / 127);
        const q = quantizeWith(x, actScale);
        const ref = new Float64Array(rows * nTokens);
        for (let t = 0; t < nTokens; t++) {
          for (let r = 0; r < rows; r++) {
            let dot = 0;
            for (let c = 0; c < cols; c++) dot += w[r * cols + c]! * q[t * cols + c]!;
            ref[t * rows + r] = Math.fround(Math.fround(Math.fround(dot) * scales[r]!) * actScale);
          }
        }
        const generic = withIsa('generic', () => b.cpuMatmulW8a8(w, scales, rows, cols, x, nTokens, actScale));
        for (const level of runnableLevels) {
          const y = withIsa(level, () => b.cpuMatmulW8a8(w, scales, rows, cols, x, nTokens, actScale));
          const where = `${level}, ${rows}x${cols}, ${nTokens} tokens`;
          // Integer sums and the same float products: exact, at every level.
          for (let i = 0; i < ref.length; i++) expect(y[i], `${where}, output ${i}`).toBe(ref[i]);
          expect(Array.from(y), where).toEqual(Array.from(generic));
        }
        // The stored scale is what the kernels use: the dynamic product differs.
        const dynamic = b.cpuMatmulW8a8(w, scales, rows, cols, x, nTokens);
        if (rows * cols > 100) expect(Array.from(dynamic)).not.toEqual(Array.from(generic));
      }
    }
  });

  it('rejects a negative or non-finite activation scale', () => {
    const w = new Int8Array(4);
    const s = new Float32Array(1);
    expect(() => b.cpuMatmulW8a8(w, s, 1, 4, new Float32Array(4), 1, -1)).toThrow(InvalidArgumentError);
    expect(() => b.cpuMatmulW8a8(w, s, 1, 4, new Float32Array(4), 1, Number.NaN)).toThrow(/finite and positive/);
  });
});
