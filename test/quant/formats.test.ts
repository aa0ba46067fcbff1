// Every reference format on fresh random data: round trips within a per-format bound, dot products
// against the dequantized weights, and the importance-weighted quantizer against round-to-nearest.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { AbortError, InvalidArgumentError, UnsupportedError } from '../../lib/errors.js';
import { normalizedError, randomF32, rng, testSeed } from '../helpers/random.js';

const b = native();
const formats = b.quantFormats();
const byName = new Map(formats.map((f) => [f.name, f]));

// Bounds for uniform random data: `max` on max|x - dequant(quant(x))| / max|x| (about half a step of the
// grid; searches that clip the extremes to cut the mean error get about one step), `rms` on the
// relative RMS error over many blocks (what the searches minimise; measured values plus ~20%).
const bounds: Record<string, { max: number; rms: number }> = {
  f32: { max: 0, rms: 0 },
  f16: { max: 5e-4, rms: 3e-4 },
  bf16: { max: 4e-3, rms: 2.5e-3 },
  q8_0: { max: 5e-3, rms: 7e-3 },
  q8_1: { max: 5e-3, rms: 7e-3 },
  q8_K: { max: 5e-3, rms: 1.2e-2 },
  q5_0: { max: 0.065, rms: 0.055 }, // the grid is -16..15: the largest positive value may clip by a step
  q5_1: { max: 0.035, rms: 0.048 },
  q4_0: { max: 0.13, rms: 0.11 },
  q4_1: { max: 0.07, rms: 0.1 },
  q6_K: { max: 0.04, rms: 0.021 },
  q5_K: { max: 0.075, rms: 0.043 },
  q4_K: { max: 0.15, rms: 0.086 },
  q3_K: { max: 0.3, rms: 0.18 },
  q2_K: { max: 0.6, rms: 0.33 },
  iq4_nl: { max: 0.15, rms: 0.09 }, // the widest gaps of the grid are at its ends
  iq4_xs: { max: 0.15, rms: 0.09 },
  // qinfer's own 32-element odd grids (8 and 4 levels): the search clips outliers to cut the mean error.
  q3_32: { max: 0.3, rms: 0.145 },
  q2_32: { max: 0.5, rms: 0.3 },
};

function relativeRms(y: Float32Array, x: Float32Array): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    e += (y[i]! - x[i]!) ** 2;
    s += x[i]! ** 2;
  }
  return Math.sqrt(e / s);
}

/** Heavy-tailed rows (uniform times a per-block gain): closer to real weights than plain uniform. */
function weightsLike(n: number, next: () => number): Float32Array {
  const x = randomF32(n, next);
  for (let i = 0; i < n; i += 32) {
    const gain = 0.1 + 2 * next();
    for (let j = i; j < Math.min(n, i + 32); j++) x[j]! *= gain;
  }
  return x;
}

function weightedError(x: Float32Array, y: Float32Array, imp: Float32Array, cols: number): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += imp[i % cols]! * (x[i]! - y[i]!) ** 2;
  return e;
}

describe(`quantized formats (seed ${testSeed})`, () => {
  it('lists every format with ggml geometry', () => {
    for (const name of Object.keys(bounds)) expect(byName.has(name), name).toBe(true);
    expect(byName.get('q4_0')).toMatchObject({ type: 2, blockSize: 32, typeSize: 18, vecDotType: 8 });
    expect(byName.get('q8_1')).toMatchObject({ type: 9, vecDotType: null, weighted: false });
  });

  for (const f of formats) {
    it(`${f.name}: round trip within bound, one block and many`, () => {
      const next = rng(testSeed + f.type);
      const bound = bounds[f.name];
      expect(bound, `no bound for ${f.name}`).toBeDefined();
      for (const n of [f.blockSize === 1 ? 1 : f.blockSize, f.blockSize * 7, Math.max(4096, f.blockSize * 16)]) {
        const x = randomF32(n, next, 3);
        const q = b.quantizeRows(f.type, x, n);
        expect(q.length).toBe((n / f.blockSize) * f.typeSize);
        const y = b.dequantizeRows(f.type, q, n);
        expect(normalizedError(y, x)).toBeLessThanOrEqual(bound!.max);
        if (n >= 4096) expect(relativeRms(y, x)).toBeLessThanOrEqual(bound!.rms);
      }
    });

    if (f.vecDotType === null) continue;
    it(`${f.name}: dot product against the dequantized weights`, () => {
      const next = rng(testSeed + 100 + f.type);
      const n = Math.max(f.blockSize * 8, 512);
      const w = b.quantizeRows(f.type, weightsLike(n, next), n);
      const wf = b.dequantizeRows(f.type, w, n);
      const x = randomF32(n, next);
      let exact = 0;
      let mag = 0;
      for (let i = 0; i < n; i++) {
        exact += wf[i]! * x[i]!;
        mag += Math.abs(wf[i]! * x[i]!);
      }
      // Only the activations' 8-bit (or 16-bit) rounding separates the two.
      const tol = f.vecDotType === 0 ? 1e-6 : f.vecDotType === 1 || f.vecDotType === 30 ? 4e-3 : 8e-3;
      expect(Math.abs(b.vecDot(f.type, w, x) - exact) / mag).toBeLessThanOrEqual(tol);
    });

    if (!f.weighted || f.blockSize === 1) continue;
    it(`${f.name}: importance-weighted quantization beats round-to-nearest in weighted error`, () => {
      const next = rng(testSeed + 200 + f.type);
      const cols = 1024;
      const rows = 16;
      const x = weightsLike(rows * cols, next);
      const imp = new Float32Array(cols);
      for (let i = 0; i < cols; i++) imp[i] = Math.exp(3 * (next() * 2 - 1)) * (next() < 0.05 ? 50 : 1);
      const rtn = b.dequantizeRows(f.type, b.quantizeRows(f.type, x, cols), rows * cols);
      const weighted = b.dequantizeRows(f.type, b.quantizeRows(f.type, x, cols, imp), rows * cols);
      const eRtn = weightedError(x, rtn, imp, cols);
      const eW = weightedError(x, weighted, imp, cols);
      console.log(`${f.name}: weighted error ${eW.toExponential(3)} vs round-to-nearest ${eRtn.toExponential(3)}`);
      expect(eW).toBeLessThan(eRtn);
    });
  }

  it('quantizes off the JS thread over the thread pool to the same bytes, and aborts', async () => {
    const next = rng(testSeed + 400);
    const cols = 1024;
    const x = weightsLike(64 * cols, next);
    const imp = Float32Array.from({ length: cols }, () => 0.1 + next());
    for (const name of ['q4_0', 'q4_K', 'iq4_xs']) {
      const f = byName.get(name)!;
      expect(await b.quantizeRowsAsync(f.type, x, cols).promise).toEqual(b.quantizeRows(f.type, x, cols));
      expect(await b.quantizeRowsAsync(f.type, x, cols, imp).promise).toEqual(b.quantizeRows(f.type, x, cols, imp));
    }
    const big = weightsLike(1 << 22, next);
    const task = b.quantizeRowsAsync(byName.get('q6_K')!.type, big, cols);
    task.abort();
    await expect(task.promise).rejects.toThrow(AbortError);
    expect(() => b.quantizeRowsAsync(byName.get('q4_0')!.type, x, 48)).toThrow(InvalidArgumentError);
  });

  it('rejects bad arguments with typed errors', () => {
    const q4 = byName.get('q4_0')!;
    const x = randomF32(64, rng(testSeed));
    expect(() => b.quantizeRows(q4.type, x, 48)).toThrow(InvalidArgumentError);
    expect(() => b.quantizeRows(q4.type, x.subarray(0, 48), 32)).toThrow(/whole number of rows/);
    expect(() => b.quantizeRows(q4.type, x, 64, new Float32Array(32))).toThrow(InvalidArgumentError);
    expect(() => b.quantizeRows(q4.type, x, 0)).toThrow(InvalidArgumentError);
    expect(() => b.quantizeRows(19 /* iq1_s */, x, 64)).toThrow(UnsupportedError);
    expect(() => b.quantizeRows(4 /* removed id */, x, 64)).toThrow(UnsupportedError);
    const q = b.quantizeRows(q4.type, x, 64);
    expect(() => b.dequantizeRows(q4.type, q.subarray(0, 35), 64)).toThrow(/take 36 bytes, got 35/);
    expect(() => b.dequantizeRows(q4.type, q, 48)).toThrow(InvalidArgumentError);
    expect(() => b.vecDot(q4.type, q, x.subarray(0, 32))).toThrow(InvalidArgumentError);
    expect(() => b.vecDot(byName.get('q8_1')!.type, new Uint8Array(36), x.subarray(0, 32))).toThrow(/activation format/);
    const bad = Float32Array.from(x);
    bad[40] = Number.NaN;
    expect(() => b.quantizeRows(q4.type, bad, 32)).toThrow(/non-finite value \(nan\) at row 1, column 8/);
    const negative = new Float32Array(64).fill(1);
    negative[3] = -1;
    expect(() => b.quantizeRows(q4.type, x, 64, negative)).toThrow(/column 3 has -1/);
  });

  it('treats a block that no column gives importance like plain least squares', () => {
    const next = rng(testSeed + 300);
    const cols = 512;
    const x = weightsLike(cols, next);
    const imp = new Float32Array(cols).fill(1);
    const zero = Float32Array.from(imp);
    zero.fill(0, 0, 256); // the first super-block (and its legacy blocks) get no importance
    for (const name of ['q4_0', 'q5_1', 'iq4_nl', 'q4_K', 'q6_K', 'iq4_xs']) {
      const f = byName.get(name)!;
      const ones = b.quantizeRows(f.type, x, cols, imp);
      const partly = b.quantizeRows(f.type, x, cols, zero);
      const firstHalf = (256 / f.blockSize) * f.typeSize;
      expect(Array.from(partly.subarray(0, firstHalf)), name).toEqual(Array.from(ones.subarray(0, firstHalf)));
    }
  });
});
