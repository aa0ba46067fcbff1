// The ops a whole-model step adds to the backend ABI (KV-cache store, row bias, strided copy), on every backend
// that has them, against the CPU quantizers and plain arithmetic.
import { describe, expect, it } from 'vitest';

import { BackendOp } from '../../lib/backend.js';
import { openBackend } from '../../lib/backend-open.js';
import { native } from '../../lib/binding.js';
import { probe } from '../../lib/probe.js';
import { normalizedError, randomF32, rng, testSeed } from '../helpers/random.js';

const p = await probe();
const b = native();
const f32 = (u: Uint8Array) => new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);
const KV_TYPES = [
  ['f32', 0],
  ['f16', 1],
  ['q8_0', 8],
] as const;

for (const be of p.backends) {
  describe.skipIf(!be.available)(`${be.name} backend graph ops (seed ${testSeed})`, () => {
    it('kv_store writes each token row at its position, converted as the CPU quantizer does', async () => {
      const { native: nb } = await openBackend(be.name);
      const next = rng(testSeed + 31);
      const headDim = 64, heads = 2, stride = 9;
      const positions = Int32Array.from([4, 0, 8]);
      const x = randomF32(positions.length * heads * headDim, next, 2);
      for (const [name, type] of KV_TYPES) {
        if (!nb.supportsOp(BackendOp.KV_STORE, type)) {
          console.log(`${be.name} does not store a ${name} cache: skipped`);
          continue;
        }
        const rowBytes = b.quantizeRows(type, x.subarray(0, headDim), headDim).length;
        const cache = nb.run(BackendOp.KV_STORE, type, [x, positions], heads * stride * rowBytes, [headDim, heads, positions.length, stride], []);
        positions.forEach((pos, t) => {
          for (let h = 0; h < heads; h++) {
            const src = x.subarray((t * heads + h) * headDim, (t * heads + h + 1) * headDim);
            const at = (h * stride + pos) * rowBytes;
            const got = cache.subarray(at, at + rowBytes);
            if (type === 0) expect(Array.from(f32(got)), `${name} token ${t} head ${h}`).toEqual(Array.from(src));
            else {
              const want = b.dequantizeRows(type, b.quantizeRows(type, src, headDim), headDim);
              expect(normalizedError(b.dequantizeRows(type, got.slice(), headDim), want), `${name} token ${t} head ${h}`).toBeLessThan(1e-3);
            }
          }
        });
      }
    });

    it('add_rows adds the bias to every row; copy moves strided rows', async () => {
      const { native: nb } = await openBackend(be.name);
      const next = rng(testSeed + 32);
      const cols = 300, rows = 5;
      const x = randomF32(cols * rows, next), bias = randomF32(cols, next);
      const y = f32(nb.run(BackendOp.ADD_ROWS, 0, [x, bias], x.byteLength, [cols, rows, 0, 0], []));
      expect(Array.from(y)).toEqual(Array.from(x, (v, i) => Math.fround(v + bias[i % cols]!)));

      const rowBytes = 40, srcStride = 52, dstStride = 44, n = 3;
      const src = Uint8Array.from({ length: srcStride * n }, () => Math.floor(next() * 256));
      const out = nb.run(BackendOp.COPY, 0, [src], dstStride * n, [rowBytes, n, srcStride, dstStride], []);
      for (let r = 0; r < n; r++) {
        expect(Array.from(out.subarray(r * dstStride, r * dstStride + rowBytes)), `row ${r}`).toEqual(Array.from(src.subarray(r * srcStride, r * srcStride + rowBytes)));
      }
      expect(() => nb.run(BackendOp.COPY, 0, [src], dstStride * n, [rowBytes + 2, n, srcStride, dstStride], [])).toThrow(/multiples of 4/);
    });
  });
}
