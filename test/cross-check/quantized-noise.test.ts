// Why qinfer's and llama.cpp's logits on quantized files differ by about 1e-2 of the largest logit while
// on F32 files they agree to about 1e-3: both round every quantized product's input to 8 bits in blocks
// of 32 (test/cross-check/activation-rounding.test.ts); that rounding moves gcide-llama-25m's logits by
// 0.5-4% of the largest one, and a float32 ulp of difference upstream changes which way later roundings
// go, so two correct programs carry independent rounding noise of that size.
import { describe, expect, it } from 'vitest';

import { DEMO_MODEL } from '../../lib/demo.js';
import { loadModel } from '../../lib/model.js';
import { roundActivations } from '../helpers/activation-rounding.js';
import { llamaCpp, llamaCppUnavailable } from '../helpers/llama-cpp.js';
import { type InputRounding, ReferenceLlama } from '../helpers/llama-reference.js';
import { normalizedError } from '../helpers/random.js';

/** qinfer's activation rounding (llama.cpp's with an f32 scale): blocks of 256 for the K-quants, else 32. */
const q8: InputRounding = (x, type) => {
  if (type === 0 || type === 1 || type === 30) return x;
  return roundActivations(x, type >= 10 && type <= 14 ? 256 : 32, 'f32');
};

const unavailable = await llamaCppUnavailable();
if (unavailable) console.log(`skipping the rounding-noise comparison with llama.cpp: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('gcide-llama-25m Q8_0: logit differences from rounding activations', () => {
  const prompt = [1, 22746, 398, 5, 300, 1000, 2000, 42, 17, 999, 3000, 4000];

  it('rounding moves the logits by 0.5-4%, one float32 ulp upstream as much again, and qinfer and llama.cpp differ by that much', async () => {
    const model = await loadModel(DEMO_MODEL, { threads: 2, kvCacheType: 'f32' });
    const V = model.vocabularySize;
    let ours: Float32Array;
    try {
      ours = await model.evaluate(prompt, { logits: 'all' });
    } finally {
      model.close();
    }
    const ref = await ReferenceLlama.load(DEMO_MODEL);
    const exact = ref.logits(prompt);
    const rounded = ref.logits(prompt, q8);
    // About one float32 ulp (1e-7, pseudo-random sign) on every product input: what another correct
    // float32 program's different summation order does.
    let calls = 0;
    const nudged = ref.logits(prompt, (x, type) => {
      calls++;
      return q8(x.map((v, i) => v * (1 + ((((i + 1) * 2654435761 + calls * 40503) >>> 16) % 2 ? 1e-7 : -1e-7))), type);
    });
    // llama.cpp with an F32 cache, like qinfer here, so that only the products differ.
    const theirs = (await llamaCpp(DEMO_MODEL, [prompt], 1, 'F32')).logits[0]!;
    const rows = prompt.map((_, p) => {
      const o = ours.subarray(p * V, (p + 1) * V);
      return {
        rounding: normalizedError(rounded[p]!, exact[p]!),
        nudged: normalizedError(nudged[p]!, rounded[p]!),
        qinferVsExact: normalizedError(o, exact[p]!),
        llamaCppVsExact: normalizedError(theirs[p]!, exact[p]!),
        qinferVsLlamaCpp: normalizedError(o, theirs[p]!),
      };
    });
    console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.toExponential(2)]))));
    const max = (k: keyof (typeof rows)[number]) => Math.max(...rows.map((r) => r[k]));
    for (const r of rows) expect(r.rounding).toBeGreaterThan(3e-3);
    expect(max('nudged')).toBeGreaterThan(0.3 * max('rounding'));
    for (const k of ['qinferVsExact', 'llamaCppVsExact', 'qinferVsLlamaCpp'] as const) expect(max(k), k).toBeLessThan(2 * Math.max(max('rounding'), max('nudged')));
  }, 120_000);
});
