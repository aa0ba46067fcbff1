// Fresh random inputs per run (seed printed so a failure can be replayed with QINFER_TEST_SEED).
export const testSeed = Number(process.env.QINFER_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

export function rng(seed = testSeed): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: deterministic for a seed, good enough for test data.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export function randomF32(n: number, next: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (next() * 2 - 1) * scale;
  return a;
}

/** max |a-b| / max |b|: the error measure used against references. */
export function normalizedError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}
