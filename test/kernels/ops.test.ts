// Forward-pass operators of the CPU backend against float64 references written here, at every ISA level.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { normalizedError, randomF32, rng, testSeed } from '../helpers/random.js';
import { runnableLevels, withIsa } from './isa-levels.js';

const b = native();
const F32 = 0;
const F16 = 1;
const Q8_0 = 8;

interface Yarn {
  extFactor: number;
  attnFactor: number;
  corrDims: [number, number];
}

function ropeRef(x: Float32Array, positions: Int32Array, headDim: number, nDims: number, neox: boolean, base: number, scale: number, factors?: Float32Array, yarn?: Yarn) {
  const out = Float64Array.from(x);
  const nHeads = x.length / positions.length / headDim;
  const half = nDims / 2;
  positions.forEach((pos, t) => {
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const extrap = (pos * base ** ((-2 * i) / nDims)) / (factors ? factors[i]! : 1);
        let angle = scale * extrap, m = 1;
        if (yarn) {
          // YaRN: the trained angle below the correction range, the interpolated one above it, linear between.
          const [low, high] = yarn.corrDims;
          const ramp = (1 - Math.min(1, Math.max(0, (i - low) / Math.max(0.001, high - low)))) * yarn.extFactor;
          angle = angle * (1 - ramp) + extrap * ramp;
          m = yarn.attnFactor;
        }
        const [a, c] = neox ? [o + i, o + i + half] : [o + 2 * i, o + 2 * i + 1];
        const x0 = x[a]!, x1 = x[c]!;
        out[a] = m * (x0 * Math.cos(angle) - x1 * Math.sin(angle));
        out[c] = m * (x0 * Math.sin(angle) + x1 * Math.cos(angle));
      }
    }
  });
  return out;
}

describe(`CPU operators (seed ${testSeed})`, () => {
  for (const level of runnableLevels) {
    it(`${level}: RMSNorm, softmax, SwiGLU`, () => {
      const next = rng(testSeed + 11);
      for (const n of [1, 7, 64, 4099]) {
        const rows = 3;
        const x = randomF32(rows * n, next, 3), w = randomF32(n, next);
        const ref = new Float64Array(rows * n);
        for (let r = 0; r < rows; r++) {
          let ss = 0;
          for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
          const s = 1 / Math.sqrt(ss / n + 1e-5);
          for (let i = 0; i < n; i++) ref[r * n + i] = x[r * n + i]! * s * w[i]!;
        }
        const y = withIsa(level, () => b.cpuOp('rmsNorm', { x, n, eps: 1e-5, weight: w }));
        expect(normalizedError(y, ref)).toBeLessThan(1e-6);

        const sm = withIsa(level, () => b.cpuOp('softmax', { x, n }));
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * n, (r + 1) * n));
          const mx = Math.max(...row);
          const e = row.map((v) => Math.exp(v - mx));
          const sum = e.reduce((a, c) => a + c, 0);
          expect(normalizedError(sm.subarray(r * n, (r + 1) * n), e.map((v) => v / sum))).toBeLessThan(1e-6);
        }

        const up = randomF32(rows * n, next, 2);
        const sw = withIsa(level, () => b.cpuOp('siluMul', { gate: x, up }));
        expect(normalizedError(sw, Array.from(x, (g, i) => (g / (1 + Math.exp(-g))) * up[i]!))).toBeLessThan(1e-6);
      }
    });

    it(`${level}: RoPE, normal and NeoX, with frequency scaling and factors`, () => {
      const next = rng(testSeed + 12);
      const headDim = 64, nHeads = 3;
      const positions = Int32Array.from([0, 1, 17, 511, 4000]);
      const x = randomF32(positions.length * nHeads * headDim, next);
      const factors = Float32Array.from({ length: 24 }, (_, i) => 1 + i / 4);
      for (const neox of [false, true])
        for (const [nDims, base, scale, ff] of [[64, 10000, 1, undefined], [48, 500000, 0.25, factors]] as const) {
          const y = withIsa(level, () => b.cpuOp('rope', { x, positions, headDim, nDims, neox, freqBase: base, freqScale: scale, freqFactors: ff }));
          // Angles reach 4000 radians: float32 phase rounding bounds the agreement.
          expect(normalizedError(y, ropeRef(x, positions, headDim, nDims, neox, base, scale, ff))).toBeLessThan(2e-3);
        }
    });

    it(`${level}: RoPE with YaRN (ramped extrapolation, attention factor), normal and NeoX`, () => {
      const next = rng(testSeed + 14);
      const headDim = 64, nHeads = 2;
      const positions = Int32Array.from([0, 1, 17, 511, 4000, 30000]);
      const x = randomF32(positions.length * nHeads * headDim, next);
      const factors = Float32Array.from({ length: 32 }, (_, i) => 1 + i / 8);
      // [nDims, base, factor, extFactor, attention factor, correction range, frequency factors]
      const cases = [
        [64, 10000, 4, 1, 0.1 * Math.log(4) + 1, [5, 12], undefined],
        [64, 1e6, 16, 1, 1.5, [0, 63], undefined],  // the widest range
        [48, 500000, 8, 0.5, 1, [3, 3], undefined],  // an empty range: a step at pair 3
        [64, 10000, 2, 1, 1.1, [7, 20], factors],
      ] as const;
      for (const neox of [false, true])
        for (const [nDims, base, factor, extFactor, attnFactor, corrDims, ff] of cases) {
          const yarn: Yarn = { extFactor, attnFactor, corrDims: [corrDims[0], corrDims[1]] };
          const y = withIsa(level, () =>
            b.cpuOp('rope', { x, positions, headDim, nDims, neox, freqBase: base, freqScale: 1 / factor, freqFactors: ff, ...yarn }),
          );
          const ref = ropeRef(x, positions, headDim, nDims, neox, base, 1 / factor, ff, yarn);
          // Angles reach 30000 radians: float32 phase rounding bounds the agreement.
          expect(normalizedError(y, ref), `${nDims} dims, base ${base}, factor ${factor}`).toBeLessThan(5e-3);
          // And YaRN changes the result: against plain linear scaling the rotation differs.
          expect(normalizedError(y, ropeRef(x, positions, headDim, nDims, neox, base, 1 / factor, ff))).toBeGreaterThan(1e-2);
        }
      // ext_factor 0 is plain RoPE whatever the other YaRN values.
      const plain = b.cpuOp('rope', { x, positions, headDim, nDims: 64, neox: false, freqBase: 10000, freqScale: 0.25 });
      const off = b.cpuOp('rope', { x, positions, headDim, nDims: 64, neox: false, freqBase: 10000, freqScale: 0.25, extFactor: 0, corrDims: [5, 12] });
      expect(Array.from(off)).toEqual(Array.from(plain));
    });

    it(`${level}: YaRN's correction range as llama.cpp computes it`, () => {
      // ggml_rope_yarn_corr_dims: floor / ceil of n_dims ln(n_ctx_orig / (2 pi beta)) / (2 ln base), clamped to [0, n_dims - 1].
      const dims = (nRot: number, nCtxOrig: number, freqBase: number, betaFast = 32, betaSlow = 1) =>
        withIsa(level, () => b.cpuOp('yarnCorrDims', { nRot, nCtxOrig, freqBase, betaFast, betaSlow }));
      expect(dims(128, 32768, 1e6)).toEqual([23, 40]);  // Qwen2.5 / Qwen3's YaRN settings
      expect(dims(128, 4096, 10000)).toEqual([20, 46]);
      expect(dims(32, 1024, 10000)).toEqual([2, 9]);  // test/helpers/random-model.ts YARN_METADATA
      expect(dims(64, 64, 10000)).toEqual([0, 9]);  // beta_fast's dimension below 0
      expect(dims(16, 1 << 30, 10)).toEqual([53, 15]);  // both past the last dimension: low stays unclamped, as in ggml (every pair extrapolated)
      expect(dims(64, 4096, 10000, 16, 2)).toEqual([12, 21]);
    });

    it(`${level}: attention over F32, F16 and Q8_0 caches, grouped-query and causal`, () => {
      const next = rng(testSeed + 13);
      const nHeads = 6, nKvHeads = 2, headDim = 64, headStride = 40;
      const group = nHeads / nKvHeads;
      const k = randomF32(nKvHeads * headStride * headDim, next), v = randomF32(nKvHeads * headStride * headDim, next);
      const nKv = Int32Array.from([1, 2, 13, 40]);
      const q = randomF32(nKv.length * nHeads * headDim, next, 2);
      const scale = 1 / Math.sqrt(headDim);
      const ref = new Float64Array(q.length);
      nKv.forEach((n, t) => {
        for (let h = 0; h < nHeads; h++) {
          const kvh = Math.floor(h / group);
          const s = Array.from({ length: n }, (_, p) => {
            let d = 0;
            for (let i = 0; i < headDim; i++) d += q[(t * nHeads + h) * headDim + i]! * k[(kvh * headStride + p) * headDim + i]!;
            return d * scale;
          });
          const mx = Math.max(...s);
          const e = s.map((x) => Math.exp(x - mx));
          const sum = e.reduce((a, c) => a + c, 0);
          for (let p = 0; p < n; p++)
            for (let i = 0; i < headDim; i++) ref[(t * nHeads + h) * headDim + i]! += (e[p]! / sum) * v[(kvh * headStride + p) * headDim + i]!;
        }
      });
      for (const [kvType, bound] of [[F32, 1e-5], [F16, 2e-3], [Q8_0, 2e-2]] as const) {
        const out = withIsa(level, () => b.cpuOp('attention', { q, k, v, nKv, nHeads, nKvHeads, headDim, kvType, headStride, scale }));
        expect(out.some(Number.isNaN), `unwritten outputs (type ${kvType})`).toBe(false);
        expect(normalizedError(out, ref), `type ${kvType}`).toBeLessThan(bound);
      }
    });
  }

  it('embedding lookup from every format equals the dequantized row', () => {
    const next = rng(testSeed + 14);
    for (const f of b.quantFormats().filter((x) => x.vecDotType !== null)) {
      const cols = f.blockSize === 1 ? 33 : f.blockSize * 2, rows = 5;
      const table = b.quantizeRows(f.type, randomF32(rows * cols, next), cols);
      const all = b.dequantizeRows(f.type, table, rows * cols);
      const ids = Int32Array.from([4, 0, 4, 2]);
      const y = b.cpuOp('getRows', { type: f.type, table, rows, cols, ids });
      ids.forEach((id, i) => expect(Array.from(y.subarray(i * cols, (i + 1) * cols)), f.name).toEqual(Array.from(all.subarray(id * cols, (id + 1) * cols))));
      expect(() => b.cpuOp('getRows', { type: f.type, table, rows, cols, ids: Int32Array.from([rows]) })).toThrow(InvalidArgumentError);
    }
  });

  it('argmax and top-k, ties to the lower index', () => {
    const next = rng(testSeed + 15);
    const x = randomF32(1000, next);
    x[700] = 5;
    x[300] = 5;
    expect(b.cpuOp('argmax', { x })).toBe(300);
    const order = Array.from(x.keys()).sort((a, c) => x[c]! - x[a]! || a - c);
    expect(b.cpuOp('topK', { x, k: 10 })).toEqual(order.slice(0, 10));
    expect(b.cpuOp('topK', { x, k: 0 })).toEqual([]);
  });
});
