// Batched matrix products (MATMUL) of Q4_0 and Q8_0 on each GPU backend at token counts and shapes that
// cross the CUDA backend's path thresholds (8-bit decode kernel up to 4 tokens, tensor-core tiles of
// 16/32/64 tokens and, on Hopper, wgmma tiles of 16-256, split K for few row tiles, partial row tiles), against float64 references.
import { describe, expect, it } from 'vitest';

import { BackendOp } from '../../lib/backend.js';
import { openBackend } from '../../lib/backend-open.js';
import { native } from '../../lib/binding.js';
import { probe } from '../../lib/probe.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';

const b = native();
const p = await probe();
const Q8_0 = 8;
const formats = [
  { name: 'q4_0', type: 2 },
  { name: 'q8_0', type: Q8_0 },
];
const f32 = (u: Uint8Array) => new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);

// max over outputs of |y - ref| / max over outputs of sum |terms|, against x as given and against x
// rounded to Q8_0 as the CPU's products round it; a GPU may compute either.
function errors(wf: Float32Array, x: Float32Array, xq: Float32Array, y: Float32Array, rows: number, cols: number, tokens: number) {
  let exact = 0, rounded = 0, scale = 0;
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let ref = 0, refq = 0, mag = 0;
      for (let c = 0; c < cols; c++) {
        const wv = wf[r * cols + c]!;
        ref += wv * x[t * cols + c]!;
        refq += wv * xq[t * cols + c]!;
        mag += Math.abs(wv * x[t * cols + c]!);
      }
      const v = y[t * rows + r]!;
      if (!Number.isFinite(v)) return { exact: Infinity, rounded: Infinity };
      exact = Math.max(exact, Math.abs(v - ref));
      rounded = Math.max(rounded, Math.abs(v - refq));
      scale = Math.max(scale, mag);
    }
  }
  return { exact: exact / scale, rounded: rounded / scale };
}

for (const be of p.backends.filter((x) => x.name !== 'cpu')) {
  describe.skipIf(!be.available)(`${be.name} batched products (seed ${testSeed})`, () => {
    if (!be.available) console.log(`skipping ${be.name} batched products: ${be.reason}`);
    // [rows, cols, tokens]: decode sizes 1..4, then 5..512 through every tile size; 37 and 130 rows leave
    // partial row tiles; 4352 x 256 x 256 has enough tiles on an H100 to run without split K, and 8500 x 256 x 300
    // enough row tiles for Hopper's 256-token wgmma tiles (a partial one of 44 tokens); the large cases on CUDA
    // only: the float64 reference and lavapipe would be slow in CI.
    const cases: Array<[number, number, number]> = [
      [37, 256, 1], [130, 512, 2], [37, 2304, 3], [130, 512, 4], [37, 256, 5], [37, 256, 8], [130, 512, 9], [37, 256, 16], [130, 768, 17],
      [37, 256, 33], [130, 512, 64], [37, 256, 65], [130, 512, 130], [2200, 256, 3],
    ];
    if (be.name === 'cuda') cases.push([2200, 512, 300], [257, 1024, 512], [4352, 256, 256], [8500, 256, 300]);
    for (const f of formats) {
      it(f.name, async ({ skip }) => {
        const opened = await openBackend(be.name);
        if (!opened.native.supportsOp(BackendOp.MATMUL, f.type)) skip(`${be.name} has no ${f.name} matmul`);
        const next = rng(testSeed + f.type * 7 + 1);
        for (const [rows, cols, tokens] of cases) {
          const w = b.quantizeRows(f.type, randomF32(rows * cols, next, 2), cols);
          const x = randomF32(tokens * cols, next);
          const wf = b.dequantizeRows(f.type, w, rows * cols);
          const xq = b.dequantizeRows(Q8_0, b.quantizeRows(Q8_0, x, cols), tokens * cols);
          const y = f32(opened.native.run(BackendOp.MATMUL, f.type, [w, x], rows * tokens * 4, [cols, rows, tokens, 0], []));
          const e = errors(wf, x, xq, y, rows, cols, tokens);
          // F32 or exactly-rounded 8-bit activations agree to float rounding; f16 tensor-core products
          // (and other roundings) to what 8-bit activations cost (test/kernels/matmul.test.ts's bound).
          const bound = tokens <= 4 ? 1e-5 : 2e-3;
          expect(Math.min(e.exact, e.rounded), `${rows}x${cols}, ${tokens} tokens`).toBeLessThan(bound);
        }
      });
    }
  });
}

// Every other weight format's batched product (Vulkan's tiled shader dequantizes any format into its tiles):
// a partial row tile, a column count that is not a whole tile, and token counts on both sides of a tile.
const otherFormats = b.quantFormats().filter((f) => f.vecDotType !== null && f.type !== 2 && f.type !== Q8_0);
for (const be of p.backends.filter((x) => x.name !== 'cpu')) {
  describe.skipIf(!be.available)(`${be.name} batched products of every format (seed ${testSeed})`, () => {
    for (const f of otherFormats) {
      it(f.name, async ({ skip }) => {
        const opened = await openBackend(be.name);
        if (!opened.native.supportsOp(BackendOp.MATMUL, f.type)) skip(`${be.name} has no ${f.name} matmul`);
        const next = rng(testSeed + f.type * 11 + 3);
        const cases: Array<[number, number, number]> =
          f.blockSize === 1 ? [[37, 100, 9], [70, 33, 70]] : [[37, f.blockSize * 3, 9], [70, f.blockSize * 2, 65]];
        for (const [rows, cols, tokens] of cases) {
          const w = b.quantizeRows(f.type, randomF32(rows * cols, next, 2), cols);
          const x = randomF32(tokens * cols, next);
          const wf = b.dequantizeRows(f.type, w, rows * cols);
          const xq = cols % 32 ? x : b.dequantizeRows(Q8_0, b.quantizeRows(Q8_0, x, cols), tokens * cols);
          const y = f32(opened.native.run(BackendOp.MATMUL, f.type, [w, x], rows * tokens * 4, [cols, rows, tokens, 0], []));
          const e = errors(wf, x, xq, y, rows, cols, tokens);
          expect(Math.min(e.exact, e.rounded), `${rows}x${cols}, ${tokens} tokens`).toBeLessThan(2e-3);
        }
      });
    }
  });
}
