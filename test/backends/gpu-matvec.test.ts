// Matrix-vector products of every weight format each GPU backend supports, against the CPU's reference
// dequantization on fresh random inputs (lavapipe in CI; CUDA and Vulkan on the GPU machine).
import { describe, expect, it } from 'vitest';

import { openBackend } from '../../lib/backend-open.js';
import { native } from '../../lib/binding.js';
import { probe } from '../../lib/probe.js';
import { randomF32, rng, testSeed } from '../helpers/random.js';

const OP_MATVEC = 2;
const Q8_0 = 8;
const b = native();
const formats = b.quantFormats().filter((f) => f.vecDotType !== null && f.name !== 'f32');
const p = await probe();

function shapes(blockSize: number): Array<[rows: number, cols: number]> {
  if (blockSize === 1) return [[1, 1], [3, 33], [17, 100], [5, 4099]];
  const base: Array<[number, number]> = [[1, blockSize], [7, blockSize * 3], [33, blockSize * 5], [3, Math.max(4096, blockSize * 8)]];
  if (blockSize !== 32) return base;
  // CUDA's 8-bit path for Q4_0/Q8_0 (columns a multiple of 256, partial chunks), with its shared memory
  // per launch going large, small, large again (the K-quants' quantizers would make these slow in CI).
  // Vulkan: several rows per workgroup with a partial last group (4100 rows), x too long to stage (6400 columns).
  return [...base, [4096, 512], [37, 512], [130, 2304], [4096, 512], [4100, 256], [9, 6400]];
}

for (const be of p.backends.filter((x) => x.name !== 'cpu')) {
  describe.skipIf(!be.available)(`${be.name} matvec of every format (seed ${testSeed})`, () => {
    if (!be.available) console.log(`skipping ${be.name} matvec tests: ${be.reason}`);
    for (const f of formats) {
      it(f.name, async ({ skip }) => {
        const opened = await openBackend(be.name);
        if (!opened.native.supportsOp(OP_MATVEC, f.type)) skip(`${be.name} has no ${f.name} matvec yet`);
        const next = rng(testSeed + f.type * 13);
        for (const [rows, cols] of shapes(f.blockSize)) {
          const w = b.quantizeRows(f.type, randomF32(rows * cols, next, 2), cols);
          const x = randomF32(cols, next);
          // The GPU computes the dot of exactly these dequantized weights with F32 x, or, for the formats
          // the CPU multiplies against Q8_0 activations, with x rounded exactly as the CPU rounds it: only
          // the order of the float sums differs, so the bound is relative to the sum of |terms|.
          const wf = b.dequantizeRows(f.type, w, rows * cols);
          const xq = f.vecDotType === Q8_0 ? b.dequantizeRows(Q8_0, b.quantizeRows(Q8_0, x, cols), cols) : x;
          const y = opened.native.matvec(f.type, w, rows, cols, x);
          let err = 0;
          let errq = 0;
          let scale = 0;
          for (let r = 0; r < rows; r++) {
            let ref = 0;
            let refq = 0;
            let mag = 0;
            for (let c = 0; c < cols; c++) {
              ref += wf[r * cols + c]! * x[c]!;
              refq += wf[r * cols + c]! * xq[c]!;
              mag += Math.abs(wf[r * cols + c]! * x[c]!);
            }
            expect(Number.isFinite(y[r]!), `row ${r} of ${rows}x${cols}`).toBe(true);
            err = Math.max(err, Math.abs(y[r]! - ref));
            errq = Math.max(errq, Math.abs(y[r]! - refq));
            scale = Math.max(scale, mag);
          }
          expect(Math.min(err, errq) / scale, `${rows}x${cols}`).toBeLessThan(1e-5);
        }
      });
    }
  });
}
