// The CPU thread pool: parallel_for covers every index once whatever the chunking, run() calls every
// thread index once, a thrown error reaches the caller and leaves the pool usable, workers are reused.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { rng, testSeed } from '../helpers/random.js';

const b = native();

describe(`CPU thread pool (seed ${testSeed})`, () => {
  it('parallel_for covers [0, n) exactly once per job for any grain, and run() reaches every thread index once', () => {
    const next = rng(testSeed);
    const cases: Array<[threads: number, n: number, grain: number]> = [[1, 10, 3], [2, 0, 4], [2, 1, 1], [2, 5, 64], [3, 1000, 7], [4, 4097, 128], [2, 333, 0]];
    for (let i = 0; i < 4; i++) cases.push([1 + Math.floor(next() * 4), Math.floor(next() * 5000), 1 + Math.floor(next() * 300)]);
    for (const [threads, n, grain] of cases) {
      const jobs = 25;
      const r = b.threadPoolProbe({ threads, jobs, n, grain, throwAt: -1 });
      const where = `${threads} threads, n ${n}, grain ${grain}`;
      expect(r.hits.length, where).toBe(n);
      expect(r.hits.every((h) => h === jobs), where).toBe(true);
      expect([...r.runIndexes].sort((x, y) => x - y), where).toEqual(Array.from({ length: threads }, (_, i) => i));
      // Work only ever runs on the pool's own threads (the caller and threads - 1 workers made once).
      expect(r.osThreads, where).toBeLessThanOrEqual(threads);
    }
  });

  it('rethrows an error from a chunk to the caller and keeps working afterwards', () => {
    for (const threads of [1, 2, 3]) {
      const n = 900;
      const throwAt = 450;
      const r = b.threadPoolProbe({ threads, jobs: 10, n, grain: 16, throwAt });
      const m = /^chunk (\d+) to (\d+) failed$/.exec(r.error ?? '');
      expect(m, r.error).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(throwAt);
      expect(Number(m![2])).toBeGreaterThan(throwAt);
      expect(r.hits.every((h) => h === 20)).toBe(true);
      expect(r.osThreads).toBeLessThanOrEqual(threads);
    }
  });
});
