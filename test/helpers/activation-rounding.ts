// 8-bit rounding of a product's input as llama.cpp's CPU backend and qinfer's kernels do it: blocks of
// 32 or 256, scale = block max / 127, x * (127 / max) rounded half to even, the scale kept in fp16 or f32.

function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The float16 nearest to an f32 (ties to even). */
export function toHalf(v: number): number {
  const f = Math.fround(v);
  if (f === 0) return 0;
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(f))), -14) - 10);
  return roundEven(f / ulp) * ulp;
}

/** x (read as float32) with each block of `block` values rounded to 8 bits times the block's scale. */
export function roundActivations(x: ArrayLike<number>, block: number, scale: 'f16' | 'f32'): Float64Array {
  const y = new Float64Array(x.length);
  for (let s = 0; s < x.length; s += block) {
    let amax = 0;
    for (let i = s; i < s + block; i++) amax = Math.max(amax, Math.abs(Math.fround(x[i]!)));
    const id = amax ? Math.fround(127 / amax) : 0;
    const d = scale === 'f16' ? toHalf(amax / 127) : Math.fround(amax / 127);
    for (let i = s; i < s + block; i++) y[i] = Math.min(127, roundEven(Math.fround(Math.fround(x[i]!) * id))) * d;
  }
  return y;
}
