// The W8A8 static activation calibrators on synthetic distributions whose right answer is known: uniform values
// (every calibrator keeps about the whole range), a Gaussian with rare outliers (all but minmax clip below them),
// evenly spaced values (exact percentiles) and the empirical quantization error the MSE calibrator minimises.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { rng, testSeed } from '../helpers/random.js';

const b = native();

function gaussian(n: number, next: () => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return x;
}

function absMax(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/** Mean squared error of int8 quantization with clip c (127 steps each side, values beyond c clamped). */
function quantMse(x: Float32Array, c: number): number {
  const step = c / 127;
  let err = 0;
  for (const v of x) {
    const q = Math.max(-127, Math.min(127, Math.round(v / step))) * step;
    err += (v - q) ** 2;
  }
  return err / x.length;
}

describe(`W8A8 static activation calibrators (seed ${testSeed})`, () => {
  const next = rng(testSeed);

  it('minmax is the largest |x| exactly', () => {
    const x = gaussian(10_000, next);
    x[123] = -7.25;
    for (const v of x) if (Math.abs(v) > 7.25) throw new Error('gaussian sample above 7.25');
    expect(b.actCalibrationClip(x, 'minmax')).toBe(7.25);
  });

  it('keep nearly the whole range of uniform values', () => {
    const x = new Float32Array(200_000);
    for (let i = 0; i < x.length; i++) x[i] = (next() * 2 - 1) * 3;
    const max = absMax(x);
    for (const c of ['minmax', 'percentile', 'mse', 'kl']) {
      const clip = b.actCalibrationClip(x, c);
      expect(clip, c).toBeLessThanOrEqual(max);
      expect(clip, c).toBeGreaterThan(0.97 * max);
    }
  });

  it('clip rare outliers off a Gaussian, except minmax', () => {
    // MSE trades the outliers' clipping error 4 (12 - c)² against the rounding noise 400000 (c / 127)² / 12 of the
    // rest: its optimum is near c = 7.9.
    const x = gaussian(400_000, next);
    for (let i = 0; i < 4; i++) x[Math.floor(next() * x.length)] = (i % 2 ? -1 : 1) * 12;
    expect(b.actCalibrationClip(x, 'minmax')).toBe(12);
    // P(|x| > 3.89) = 1e-4 for a unit Gaussian.
    const p = b.actCalibrationClip(x, 'percentile', 99.99);
    expect(p).toBeGreaterThan(3.6);
    expect(p).toBeLessThan(4.3);
    const mse = b.actCalibrationClip(x, 'mse');
    expect(mse).toBeGreaterThan(7);
    expect(mse).toBeLessThan(9);
    const kl = b.actCalibrationClip(x, 'kl');
    expect(kl).toBeGreaterThan(2.5);
    expect(kl).toBeLessThan(9);
  });

  it('percentile interpolates the quantile of |x|', () => {
    // |x| evenly spaced over (0, 1]: the p-th percentile is p / 100.
    const n = 100_000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = ((i % 2 ? -1 : 1) * (i + 1)) / n;
    for (const p of [50, 90, 99, 99.9]) expect(b.actCalibrationClip(x, 'percentile', p)).toBeCloseTo(p / 100, 3);
    expect(b.actCalibrationClip(x, 'percentile', 100)).toBe(1);
  });

  it('mse picks a clip whose quantization error is within 2% of the best on a fine grid', () => {
    // Laplace tails and one outlier at 40: the optimum lies inside the range (near 27).
    const x = new Float32Array(100_000);
    for (let i = 0; i < x.length; i++) x[i] = (next() < 0.5 ? -1 : 1) * -Math.log(1 - next());
    x[0] = 40;
    const max = absMax(x);
    const clip = b.actCalibrationClip(x, 'mse');
    let best = Infinity;
    for (let k = 1; k <= 400; k++) best = Math.min(best, quantMse(x, (k / 400) * max));
    expect(clip).toBeLessThan(0.8 * max);
    expect(quantMse(x, clip)).toBeLessThan(1.02 * best);
    expect(quantMse(x, clip)).toBeLessThan(quantMse(x, max));
  });

  it('rejects unknown calibrators and percentiles outside (0, 100]', () => {
    const x = new Float32Array([1, 2, 3]);
    expect(() => b.actCalibrationClip(x, 'entropy')).toThrow(InvalidArgumentError);
    expect(() => b.actCalibrationClip(x, 'entropy')).toThrow(/minmax, percentile, mse or kl/);
    expect(() => b.actCalibrationClip(x, 'percentile', 0)).toThrow(InvalidArgumentError);
    expect(b.actCalibrationClip(new Float32Array(4), 'kl')).toBe(0);
  });
});
