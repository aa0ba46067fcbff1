// One real op on every backend present, checked against a JS reference on fresh random inputs.
import { describe, expect, it } from 'vitest';

import { openBackend } from '../../lib/backend-open.js';
import { probe } from '../../lib/probe.js';
import { normalizedError, randomF32, rng, testSeed } from '../helpers/random.js';

const GGML_TYPE_F32 = 0;
const p = await probe();

for (const b of p.backends) {
  describe.skipIf(!b.available)(`${b.name} backend (seed ${testSeed})`, () => {
    if (!b.available) console.log(`skipping ${b.name} backend tests: ${b.reason}`);

    it('adds F32 vectors exactly', async () => {
      const be = await openBackend(b.name);
      const next = rng();
      for (const n of [1, 7, 16, 33, 1000, 65537]) {
        const a = randomF32(n, next), c = randomF32(n, next);
        const out = be.native.addF32(a, c);
        const ref = a.map((v, i) => Math.fround(v + c[i]!));
        expect(Array.from(out)).toEqual(Array.from(ref));
      }
    });

    it('computes an F32 matrix-vector product', async () => {
      const be = await openBackend(b.name);
      const next = rng(testSeed + 1);
      // 70000 rows: more workgroups than one Vulkan dispatch dimension allows (65535).
      for (const [rows, cols] of [[1, 1], [3, 17], [64, 256], [129, 1000], [7, 4099], [70000, 3]] as const) {
        const w = randomF32(rows * cols, next), x = randomF32(cols, next);
        const ref = new Float64Array(rows);
        for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) ref[r]! += w[r * cols + k]! * x[k]!;
        const out = be.native.matvec(GGML_TYPE_F32, new Uint8Array(w.buffer), rows, cols, x);
        expect(normalizedError(out, ref)).toBeLessThan(1e-5);
      }
    });
  });
}
