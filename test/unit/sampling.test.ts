import { describe, expect, it } from 'vitest';

import { createSampler } from '../../lib/sampling.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';

const logitsOf = (probs: number[]) => new Float32Array(probs.map(Math.log));

function histogram(sample: () => number, n: number, size: number): number[] {
  const h = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) h[sample()]!++;
  return h.map((c) => c / n);
}

describe(`sampling (seed ${testSeed})`, () => {
  it('greedy picks the argmax', () => {
    const next = rng();
    const s = createSampler();
    for (let t = 0; t < 20; t++) {
      const l = randomF32(1000, next, 10);
      const argmax = l.indexOf(Math.max(...l));
      expect(s.sample(l)).toBe(argmax);
    }
  });

  it('the same seed gives the same tokens, another seed others', () => {
    const l = randomF32(5000, rng(), 2);
    const run = (seed: number) => {
      const s = createSampler({ temperature: 1, seed });
      return Array.from({ length: 50 }, () => s.sample(l));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('draws in proportion to softmax(logits / temperature)', () => {
    const probs = [0.4, 0.3, 0.2, 0.1];
    const s = createSampler({ temperature: 1, seed: testSeed });
    histogram(() => s.sample(logitsOf(probs)), 20000, 4).forEach((f, i) => expect(Math.abs(f - probs[i]!)).toBeLessThan(0.02));
    // Temperature 0.5 squares the probabilities before renormalizing.
    const sq = probs.map((p) => p * p), z = sq.reduce((a, b) => a + b);
    const cold = createSampler({ temperature: 0.5, seed: testSeed });
    histogram(() => cold.sample(logitsOf(probs)), 20000, 4).forEach((f, i) => expect(Math.abs(f - sq[i]! / z)).toBeLessThan(0.02));
  });

  it('top-k, top-p and min-p keep only the allowed tokens', () => {
    const probs = [0.5, 0.3, 0.15, 0.05];
    const seen = (opts: object) => {
      const s = createSampler({ temperature: 1, seed: testSeed, ...opts });
      return new Set(Array.from({ length: 4000 }, () => s.sample(logitsOf(probs))));
    };
    expect(seen({ topK: 2 })).toEqual(new Set([0, 1]));
    expect(seen({ topP: 0.75 })).toEqual(new Set([0, 1]));
    expect(seen({ topP: 0.9 })).toEqual(new Set([0, 1, 2]));
    expect(seen({ minP: 0.2 })).toEqual(new Set([0, 1, 2]));
    expect(seen({ minP: 0.7 })).toEqual(new Set([0]));
    expect(seen({})).toEqual(new Set([0, 1, 2, 3]));
  });

  it('top-p on a large vocabulary keeps the nucleus', () => {
    const next = rng(testSeed + 7);
    const l = randomF32(50000, next, 8);
    const order = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]!);
    const m = Math.max(...l);
    const p = Array.from(l, (x) => Math.exp(x - m));
    const z = p.reduce((a, b) => a + b);
    let cum = 0, n = 0;
    while (cum < 0.5 * z) cum += p[order[n++]!]!;
    const nucleus = new Set(order.slice(0, n));
    const s = createSampler({ temperature: 1, topP: 0.5, seed: testSeed });
    for (let i = 0; i < 300; i++) expect(nucleus.has(s.sample(l))).toBe(true);
  });

  it('penalties lower recently seen tokens', () => {
    const l = new Float32Array([2.0, 1.9, -1]);
    const pick = (opts: object, history: number[]) => {
      const s = createSampler(opts);
      history.forEach((t) => s.accept(t));
      return s.sample(l);
    };
    expect(pick({}, [0])).toBe(0);
    expect(pick({ repeatPenalty: 1.2 }, [0])).toBe(1);
    expect(pick({ frequencyPenalty: 0.06 }, [0])).toBe(0);
    expect(pick({ frequencyPenalty: 0.06 }, [0, 0])).toBe(1);
    expect(pick({ presencePenalty: 0.2 }, [0, 0, 0])).toBe(1);
    expect(pick({ repeatPenalty: 1.2, penaltyLastN: 1 }, [0, 2])).toBe(0);
    expect(pick({ repeatPenalty: 1.2, penaltyLastN: 0 }, [0])).toBe(0);
    // A negative logit is multiplied, so it falls further.
    const neg = createSampler({ repeatPenalty: 2 });
    neg.accept(0);
    expect(neg.sample(new Float32Array([-1, -1.5]))).toBe(1);
  });

  it('rejects invalid options with the common message', () => {
    expect(() => createSampler({ temperature: -1 })).toThrow('Expected a finite number from 0 to 100 for option temperature but received -1');
    expect(() => createSampler({ topK: 1.5 })).toThrow(/option topK/);
    expect(() => createSampler({ topP: 2 })).toThrow(/option topP/);
    expect(() => createSampler({ seed: -3 })).toThrow(/option seed/);
  });
});
