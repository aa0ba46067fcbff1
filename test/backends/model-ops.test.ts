// The forward-pass ops through the backend ABI, on every backend that supports them, against the CPU operators.
import { describe, expect, it } from 'vitest';

import { BackendOp } from '../../lib/backend.js';
import { openBackend } from '../../lib/backend-open.js';
import { native } from '../../lib/binding.js';
import { probe } from '../../lib/probe.js';
import { normalizedError, randomF32, rng, testSeed } from '../helpers/random.js';

const p = await probe();
const b = native();
const f32 = (u: Uint8Array) => new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);
const Q4_0 = 2;
const F16 = 1;

for (const be of p.backends) {
  describe.skipIf(!be.available)(`${be.name} backend model ops (seed ${testSeed})`, () => {
    it('matmul, rms_norm, rope, softmax, silu_mul, argmax, get_rows and attention', async () => {
      const { native: nb } = await openBackend(be.name);
      const next = rng(testSeed + 21);
      const skip = (op: number, type = 0) => {
        if (nb.supportsOp(op, type)) return false;
        console.log(`${be.name} does not support op ${op} (type ${type}): skipped`);
        return true;
      };
      const rows = 37, cols = 256, tokens = 5;
      if (!skip(BackendOp.MATMUL, Q4_0)) {
        const w = b.quantizeRows(Q4_0, randomF32(rows * cols, next), cols);
        const x = randomF32(tokens * cols, next);
        const y = f32(nb.run(BackendOp.MATMUL, Q4_0, [w, x], rows * tokens * 4, [cols, rows, tokens, 0], []));
        if (be.name === 'cpu') {
          expect(normalizedError(y, b.cpuMatmul(Q4_0, w, rows, cols, x, tokens))).toBeLessThan(1e-5);
        } else {
          // A GPU may keep activations in F32 or round them to 8 bits as the CPU does: compare with
          // the exact product of the dequantized weights, within what 8-bit activations cost
          // (test/kernels/matmul.test.ts's bound, relative to the sum of |terms|).
          const wf = b.dequantizeRows(Q4_0, w, rows * cols);
          let err = 0, scale = 0;
          for (let t = 0; t < tokens; t++) {
            for (let r = 0; r < rows; r++) {
              let ref = 0, mag = 0;
              for (let c = 0; c < cols; c++) {
                ref += wf[r * cols + c]! * x[t * cols + c]!;
                mag += Math.abs(wf[r * cols + c]! * x[t * cols + c]!);
              }
              err = Math.max(err, Math.abs(y[t * rows + r]! - ref));
              scale = Math.max(scale, mag);
            }
          }
          expect(err / scale).toBeLessThan(2e-3);
        }
        const ids = Int32Array.from([3, 0, 36]);
        const e = f32(nb.run(BackendOp.GET_ROWS, Q4_0, [w, ids], 3 * cols * 4, [cols, rows, 3, 0], []));
        expect(Array.from(e)).toEqual(Array.from(b.cpuOp('getRows', { type: Q4_0, table: w, rows, cols, ids })));
      }
      const x = randomF32(3 * cols, next, 3), wt = randomF32(cols, next);
      if (!skip(BackendOp.RMS_NORM)) {
        const y = f32(nb.run(BackendOp.RMS_NORM, 0, [x, wt], x.byteLength, [cols, 3, 0, 0], [1e-6]));
        expect(normalizedError(y, b.cpuOp('rmsNorm', { x, n: cols, eps: 1e-6, weight: wt }))).toBeLessThan(1e-6);
      }
      if (!skip(BackendOp.SOFTMAX)) {
        const y = f32(nb.run(BackendOp.SOFTMAX, 0, [x], x.byteLength, [cols, 3, 0, 0], []));
        expect(normalizedError(y, b.cpuOp('softmax', { x, n: cols }))).toBeLessThan(1e-6);
      }
      if (!skip(BackendOp.SILU_MUL)) {
        const up = randomF32(x.length, next);
        const y = f32(nb.run(BackendOp.SILU_MUL, 0, [x, up], x.byteLength, [x.length, 0, 0, 0], []));
        expect(normalizedError(y, b.cpuOp('siluMul', { gate: x, up }))).toBeLessThan(1e-6);
      }
      if (!skip(BackendOp.ARGMAX)) {
        const y = new Int32Array(nb.run(BackendOp.ARGMAX, 0, [x], 3 * 4, [cols, 3, 0, 0], []).buffer);
        expect(Array.from(y)).toEqual([0, 1, 2].map((r) => b.cpuOp('argmax', { x: x.subarray(r * cols, (r + 1) * cols) })));
      }
      if (!skip(BackendOp.ROPE)) {
        const positions = Int32Array.from([0, 7, 300]);
        const headDim = 64, nHeads = cols / headDim;
        const factors = Float32Array.from({ length: 24 }, (_, i) => 1 + i / 4);
        // params (backend.h, ABI 3): [freq_base, freq_scale, neox, YaRN ext_factor, attn_factor, correction low, high].
        const cases = [
          { nDims: 64, base: 10000, scale: 1 },
          { nDims: 48, base: 500000, scale: 0.25, ff: factors },
          // YaRN: factor 4 with llama.cpp's defaults (0.1 ln 4 + 1), a blended range, a step, extrapolation halved.
          { nDims: 64, base: 10000, scale: 0.25, ext: 1, attn: 0.1 * Math.log(4) + 1, corr: [5, 12] },
          { nDims: 48, base: 1e6, scale: 1 / 16, ext: 1, attn: 1.5, corr: [3, 3], ff: factors },
          { nDims: 64, base: 10000, scale: 0.5, ext: 0.5, attn: 0.9, corr: [0, 63] },
        ];
        for (const neox of [false, true]) {
          for (const c of cases) {
            const yarn = { ext: c.ext ?? 0, attn: c.attn ?? 1, corr: c.corr ?? [0, 0] };
            const params = [c.base, c.scale, neox ? 1 : 0, yarn.ext, yarn.attn, yarn.corr[0]!, yarn.corr[1]!];
            const y = f32(nb.run(BackendOp.ROPE, 0, [x, positions, c.ff ?? null], x.byteLength, [headDim, nHeads, 3, c.nDims], params));
            const ref = b.cpuOp('rope', {
              x, positions, headDim, nDims: c.nDims, neox, freqBase: c.base, freqScale: c.scale, freqFactors: c.ff,
              extFactor: yarn.ext, attnFactor: yarn.attn, corrDims: [yarn.corr[0]!, yarn.corr[1]!],
            });
            expect(normalizedError(y, ref), `rope ${JSON.stringify({ ...c, ff: !!c.ff, neox })}`).toBeLessThan(1e-5);
          }
        }
      }
      // A short cache, and a long one (CUDA splits its positions over blocks when few tokens attend).
      // Head sizes read 4 dimensions at a time (64, 40) and one at a time (6).
      for (const [headStride, visible, headDim] of [[9, [1, 9, 4], 64], [300, [1, 300, 130], 64], [200, [3, 200, 129], 40], [20, [1, 20, 7], 6]] as const) {
        if (skip(BackendOp.ATTENTION, F16)) break;
        const nHeads = 4, nKvHeads = 2;
        const kf = randomF32(nKvHeads * headStride * headDim, next), vf = randomF32(kf.length, next);
        const nKv = Int32Array.from(visible);
        const q = randomF32(nKv.length * nHeads * headDim, next);
        const ref = b.cpuOp('attention', { q, k: kf, v: vf, nKv, nHeads, nKvHeads, headDim, kvType: F16, headStride, scale: 0.125 });
        // The backend takes the cache as stored: F16, head-major.
        const half = (a: Float32Array) => b.quantizeRows(F16, a, headDim);
        const y = f32(nb.run(BackendOp.ATTENTION, F16, [q, half(kf), half(vf), nKv], q.byteLength, [headDim, nHeads, 3, nKvHeads], [0.125, headStride]));
        expect(normalizedError(y, ref), `cache of ${headStride}, head size ${headDim}`).toBeLessThan(1e-5);
      }
      // A prompt's worth of query tokens (CUDA's tensor-core prefill kernel: blocks of 64 tokens, tiles of 64 cached
      // positions, partial tiles and blocks, 4 query heads per KV head), head sizes 64 and 128.
      for (const headDim of [64, 128]) {
        if (skip(BackendOp.ATTENTION, F16)) break;
        const nHeads = 8, nKvHeads = 2, headStride = 200, tokens = 100;
        const kf = randomF32(nKvHeads * headStride * headDim, next), vf = randomF32(kf.length, next);
        const nKv = Int32Array.from({ length: tokens }, (_, i) => 1 + ((i * 37) % headStride));
        const q = randomF32(tokens * nHeads * headDim, next);
        const ref = b.cpuOp('attention', { q, k: kf, v: vf, nKv, nHeads, nKvHeads, headDim, kvType: F16, headStride, scale: 1 / Math.sqrt(headDim) });
        const half = (a: Float32Array) => b.quantizeRows(F16, a, headDim);
        const y = f32(nb.run(BackendOp.ATTENTION, F16, [q, half(kf), half(vf), nKv], q.byteLength, [headDim, nHeads, tokens, nKvHeads],
          [1 / Math.sqrt(headDim), headStride]));
        expect(normalizedError(y, ref), `${tokens} tokens, head size ${headDim}`).toBeLessThan(1e-5);
      }
    });
  });
}
