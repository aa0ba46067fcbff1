// YaRN against llama.cpp (node-llama-cpp, CPU): a small random-weight Llama (llama.cpp's SPM vocabulary, 4 heads
// of 32) whose GGUF carries llama.cpp's YaRN keys (test/helpers/random-model.ts YARN_METADATA), evaluated by
// both programs and by the float64 reference.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/binding.js';
import { loadModel } from '../../lib/model.js';
import { writeRandomLlama } from '../../scripts/cross-check/random-llama.mjs';
import { expectMatchesReference, llamaCpp, llamaCppUnavailable } from '../helpers/llama-cpp.js';
import { ReferenceLlama } from '../helpers/llama-reference.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';
import { YARN_METADATA } from '../helpers/random-model.js';

const unavailable = await llamaCppUnavailable();
if (unavailable) console.log(`skipping the YaRN cross-check with llama.cpp: ${unavailable}`);

const dir = mkdtempSync(join(tmpdir(), 'qinfer-yarn-llama-cpp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(unavailable !== undefined)(`YaRN: qinfer and llama.cpp on one random model (seed ${testSeed})`, () => {
  // llama.cpp's F32 logits part from a float64 pass by up to ~2e-3 of the largest with or without YaRN (1.5e-3 without
  // and 1.6e-3 with it on one seed; test/cross-check/llama-cpp.test.ts measures the same): the bound is that file's 3e-3.
  it('llama.cpp within 3e-3 of the float64 YaRN reference and of qinfer (within 1e-5); far from RoPE without any part of YaRN', async () => {
    const next = rng(testSeed + 31);
    const path = join(dir, 'random-yarn.gguf');
    // Weights of std 0.05 so that attention scores (and so positions) matter.
    await writeRandomLlama({
      path, type: 'f32', shape: { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256 }, std: 0.05, seed: testSeed % 100000,
      vocabGguf: join(packageRoot, 'test/fixtures/vocab/ggml-vocab-llama-spm.gguf.gz'), metadata: YARN_METADATA,
    });
    const VOCAB = 32000;
    const prompts = [0, 1].map((k) => [1, ...Array.from({ length: 39 + 8 * k }, () => 3 + Math.floor(next() * (VOCAB - 3)))]);
    const got = await llamaCpp(path, prompts, 8, 'F32');
    const ref = await ReferenceLlama.load(path);
    const model = await loadModel(path, { kvCacheType: 'f32', contextSize: 96, threads: 2 });
    try {
      let worst = 0, ours = 0, between = 0, plain = 0;
      for (const [i, p] of prompts.entries()) {
        worst = Math.max(worst, expectMatchesReference(got, i, p, (tokens) => ref.logits(tokens), 3e-3, 'llama.cpp YaRN').worst);
        const mine = await model.evaluate(p, { logits: 'all' });
        const want = ref.logits(p);
        p.forEach((_, pos) => {
          const row = mine.subarray(pos * VOCAB, (pos + 1) * VOCAB);
          ours = Math.max(ours, normalizedError(row, want[pos]!));
          between = Math.max(between, normalizedError(row, got.logits[i]![pos]!));
        });
      }
      // The same file read as if it had no YaRN: llama.cpp's logits must be far from that.
      const saved = { ...ref.hp };
      const against = (hp: Partial<typeof ref.hp>) => {
        Object.assign(ref.hp, saved, hp);
        let e = 0;
        for (const [i, p] of prompts.entries()) ref.logits(p).forEach((row, pos) => (e = Math.max(e, normalizedError(got.logits[i]![pos]!, row))));
        return e;
      };
      plain = against({ ropeExtFactor: 0, ropeAttnFactor: 1, ropeFreqScale: 1 });
      // Each part of YaRN moves the logits by far more than llama.cpp's noise (5x): its magnitude factor, either end of the range.
      const parts = [against({ ropeAttnFactor: 1 }), against({ ropeYarnBetaFast: 16 }), against({ ropeYarnBetaSlow: 2 })];
      console.log(
        `YaRN: llama.cpp within ${worst.toExponential(2)} of the reference, qinfer within ${ours.toExponential(2)}, ` +
          `qinfer to llama.cpp ${between.toExponential(2)}; llama.cpp to plain RoPE ${plain.toExponential(2)}, to YaRN without its ` +
          `magnitude factor ${parts[0]!.toExponential(2)}, with beta_fast 16 ${parts[1]!.toExponential(2)}, beta_slow 2 ${parts[2]!.toExponential(2)}`,
      );
      for (const e of parts) expect(e).toBeGreaterThan(Math.max(5 * worst, 5e-3));
      expect(ours).toBeLessThan(1e-5);
      expect(between).toBeLessThan(3e-3);
      expect(plain).toBeGreaterThan(1e-2);
    } finally {
      model.close();
    }
  }, 120_000);
});
