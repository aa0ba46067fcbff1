// qinfer's own Q3_32 / Q2_32 blocks: the bytes follow the layout the README documents (decoded here
// independently of the C++ reference), the codes use the whole odd grid, and the type table names them.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/binding.js';
import { findGgmlType } from '../../lib/ggml-types.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';

const b = native();

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The documented layout: fp16 d, qs[8] (bits 2k, 2k+1 of qs[j % 8] for k = j / 8), for 3 bits qh[4]. */
function decode(bits: 2 | 3, bytes: Uint8Array, n: number): { values: Float32Array; codes: number[] } {
  const size = bits === 3 ? 14 : 10;
  const top = (1 << bits) - 1;
  const values = new Float32Array(n);
  const codes: number[] = [];
  for (let blk = 0; blk < n / 32; blk++) {
    const o = blk * size;
    const d = halfToFloat(bytes[o]! | (bytes[o + 1]! << 8));
    const qh = bits === 3 ? (bytes[o + 10]! | (bytes[o + 11]! << 8) | (bytes[o + 12]! << 16) | (bytes[o + 13]! << 24)) >>> 0 : 0;
    for (let j = 0; j < 32; j++) {
      let q = (bytes[o + 2 + (j % 8)]! >> (2 * Math.floor(j / 8))) & 3;
      if (bits === 3) q |= ((qh >>> j) & 1) << 2;
      codes.push(q);
      values[blk * 32 + j] = d * (2 * q - top);
    }
  }
  return { values, codes };
}

describe(`qinfer's low-bit block formats (seed ${testSeed})`, () => {
  for (const [name, id, bits] of [['q3_32', 1001, 3], ['q2_32', 1002, 2]] as const) {
    it(`${name}: type ${id}, blocks of 32, bytes in the documented layout`, () => {
      expect(findGgmlType(name)).toMatchObject({ id, blockSize: 32, typeSize: bits === 3 ? 14 : 10 });
      const next = rng(testSeed + id);
      const n = 32 * 64;
      const x = randomF32(n, next, 2);
      for (const imp of [undefined, randomF32(n, next, 1).map((v) => Math.abs(v) + 0.01)]) {
        const q = b.quantizeRows(id, x, n, imp);
        const { values, codes } = decode(bits, q, n);
        expect(b.dequantizeRows(id, q, n)).toEqual(values);
        // Random data reaches every level, so every bit of the layout is exercised.
        expect(new Set(codes).size).toBe(1 << bits);
      }
    });
  }
});
