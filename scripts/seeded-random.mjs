// A seeded uniform generator for the scripts (xorshift32, as test/helpers/random.ts): the same seed gives the
// same data in every tool. Values lie strictly inside (0, 1), so log() of them is finite.
export function seededUniform(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 2 ** 32;
  };
}
