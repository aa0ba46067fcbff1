// Matrix products of every format at every ISA level against the scalar reference dot product, on
// fresh random inputs, awkward shapes and NaN-poisoned outputs.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';
import { type IsaLevel, runnableLevels, withIsa } from './isa-levels.js';

const b = native();
const formats = b.quantFormats().filter((f) => f.vecDotType !== null);

// Bound on max|y - ref| / max(sum_c |w_c x_c|), where ref dots the same weights with activations in the
// format's reference activation type: kernels differ only in how they round activations and sum, and
// the magnitude of the terms (not of a sum that may cancel) sets the scale of those differences.
const bound = (name: string): number => ({ f32: 1e-6, f16: 1e-3, bf16: 4e-3 })[name] ?? 2e-3;

function shapes(blockSize: number): Array<[rows: number, cols: number]> {
  if (blockSize === 1) return [[1, 1], [3, 7], [17, 33], [5, 1000], [2, 4099]];
  return [[1, blockSize], [7, blockSize * 3], [33, blockSize * 5], [3, Math.max(16384, blockSize * 8)]];
}

// Where the CPU has AMX, the VNNI level runs Q8_0/Q4_0 batches of 16+ tokens on tiles: the VNNI kernels
// for those batches are checked too, with QINFER_CPU_AMX=0.
const hasAmx = b.cpuInfo().features.amx === true && runnableLevels.includes('avx512vnni');
const paths: Array<[IsaLevel, boolean]> = [
  ...runnableLevels.map((l): [IsaLevel, boolean] => [l, true]),
  ...(hasAmx ? [['avx512vnni', false] as [IsaLevel, boolean]] : []),
];

function withAmx<T>(on: boolean, fn: () => T): T {
  const saved = process.env.QINFER_CPU_AMX;
  if (!on) process.env.QINFER_CPU_AMX = '0';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.QINFER_CPU_AMX;
    else process.env.QINFER_CPU_AMX = saved;
  }
}

describe(`CPU matrix products (seed ${testSeed})`, () => {
  for (const f of formats) {
    it(`${f.name} at ${paths.map(([l, amx]) => (amx ? l : `${l} without AMX`)).join(', ')}`, () => {
      const next = rng(testSeed + f.type);
      for (const [rows, cols] of shapes(f.blockSize)) {
        for (const nTokens of [1, 3, 6, 13, 20]) {
          const w = b.quantizeRows(f.type, randomF32(rows * cols, next, 2), cols);
          const x = randomF32(cols * nTokens, next);
          const rowBytes = w.length / rows;
          const wf = b.dequantizeRows(f.type, w, rows * cols);
          const ref = new Float64Array(rows * nTokens);
          let scale = 0;
          for (let t = 0; t < nTokens; t++) {
            const xt = x.subarray(t * cols, (t + 1) * cols);
            for (let r = 0; r < rows; r++) {
              ref[t * rows + r] = b.vecDot(f.type, w.subarray(r * rowBytes, (r + 1) * rowBytes), xt);
              let s = 0;
              for (let c = 0; c < cols; c++) s += Math.abs(wf[r * cols + c]! * xt[c]!);
              scale = Math.max(scale, s);
            }
          }
          for (const [level, amx] of paths) {
            const y = withIsa(level, () => withAmx(amx, () => b.cpuMatmul(f.type, w, rows, cols, x, nTokens)));
            const where = `${level}${amx ? '' : ' (QINFER_CPU_AMX=0)'}, ${rows}x${cols}, ${nTokens} tokens`;
            expect(y.some(Number.isNaN), `unwritten outputs at ${where}`).toBe(false);
            let err = 0;
            for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(y[i]! - ref[i]!));
            expect(err / scale, where).toBeLessThan(bound(f.name));
          }
        }
      }
    });
  }
});
