// qinfer against llama.cpp (node-llama-cpp, CPU) on the same random-weight GGUF files of TinyLlama-1.1B's
// structure at a reduced size, in F32, F16, Q8_0 and Q4_0: identical tokenization of 20 text slices, greedy
// continuations of 20 prompts of 64 tokens, and the next-token distributions along llama.cpp's continuations.
// The README's Cross-check section explains the bounds.
// The full-size model runs through scripts/cross-check-llama-cpp.mjs (figures in the README).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../lib/binding.js';
import { DEMO_MODEL, DEMO_TOKENS } from '../../lib/demo.js';
import { loadModel } from '../../lib/model.js';
import { readTokenFile } from '../../lib/token-file.js';
import { loadTokenizer } from '../../lib/tokenizer/gguf.js';
import { crossCheck, textSlices } from '../../scripts/cross-check-llama-cpp.mjs';
import { SHAPES, writeRandomLlama } from '../../scripts/cross-check/random-llama.mjs';
import { llamaCppUnavailable } from '../helpers/llama-cpp.js';
import { ReferenceLlama } from '../helpers/llama-reference.js';
import { normalizedError } from '../helpers/random.js';

const unavailable = await llamaCppUnavailable();
if (unavailable) console.log(`skipping the cross-check with llama.cpp: ${unavailable}`);

// Largest logit difference (of the row's largest logit) between the two programs, measured 2026-11-24 on
// this model: F32 1.8e-3 and F16 2.1e-3, all of it llama.cpp's (qinfer's F32 logits are within 1e-6 of a
// float64 forward pass, checked below); Q8_0 and Q4_0 2.1e-2, from rounding the activations to 8 bits
// before each quantized product, which both programs do alike but not bit for bit, so the rounding
// noise of the two runs decorrelates after the first differing rounding (test/cross-check/activation-rounding.test.ts).
// llama.cpp differs as much from itself: its batched rows for the same steps (other kernels, other
// rounding order) lie 1.9e-3 (F32) and 1.7e-2 (Q8_0, Q4_0) from its one-token rows (measured 2026-12-04).
const band = { f32: 3e-3, f16: 3e-3, q8_0: 3e-2, q4_0: 3e-2 } as const;
// Greedy choices may part only where qinfer's top two logits lie closer than this (of the largest):
// issue 5's 1e-3 for the float files, the rounding noise above for the quantized ones, on which
// llama.cpp's batched and one-token evaluations part from each other at gaps of 2e-3 to 1e-2.
const tie = { f32: 1e-3, f16: 1e-3, q8_0: 3e-2, q4_0: 3e-2 } as const;

describe.skipIf(unavailable !== undefined)('qinfer against llama.cpp on random TinyLlama-shaped models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qinfer-cross-'));
  let texts: string[] = [];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const path = (type: string) => join(dir, `random-small-${type}.gguf`);
  beforeAll(async () => {
    // Fixed text (the packaged held-out GCIDE tokens, decoded), so the prompts change only with the code.
    const tokenizer = await loadTokenizer(DEMO_MODEL);
    texts = textSlices(tokenizer.decode(Array.from(await readTokenFile(DEMO_TOKENS))), 20, 512);
    for (const type of Object.keys(band)) {
      await writeRandomLlama({ path: path(type), type, shape: SHAPES.small, vocabGguf: join(packageRoot, 'test/fixtures/vocab/ggml-vocab-llama-spm.gguf.gz') });
    }
  });

  it("qinfer's F32 logits are those of a float64 forward pass (so the F32 differences are llama.cpp's)", async () => {
    const model = await loadModel(path('f32'), { threads: 2 });
    try {
      const prompt = [1, ...model.tokenize(texts[0]!, { addBos: false }).slice(0, 15)];
      const ours = await model.evaluate(prompt, { logits: 'all' });
      const ref = (await ReferenceLlama.load(path('f32'))).logits(prompt);
      const V = model.vocabularySize;
      ref.forEach((row, pos) => expect(normalizedError(ours.subarray(pos * V, (pos + 1) * V), row), `position ${pos}`).toBeLessThan(1e-5));
    } finally {
      model.close();
    }
  });

  for (const type of Object.keys(band) as (keyof typeof band)[]) {
    it(`${type}: same tokens, same greedy choices up to near-ties (top two within ${tie[type]}), mean KL <= 1e-4`, async () => {
      const r = await crossCheck(path(type), { texts, promptTokens: 64, steps: 8, threads: 2 });
      const gaps = r.divergences.map((d: { gapQinfer: number }) => d.gapQinfer);
      const self = r.llamaCppSelf;
      const selfGaps = self.partings.map((d: { gap: number }) => d.gap);
      console.log(`${type}: greedy ${r.greedy.identical}/${r.prompts} identical, ${r.divergences.length} of ${r.prompts * r.steps} steps part at top-two gaps up to ${Math.max(0, ...gaps).toExponential(2)}, ` +
        `KL mean ${r.kld.mean.toExponential(2)}, logit difference max ${r.logitError.max.toExponential(2)}; llama.cpp batched vs one-token: ` +
        `logit difference max ${self.logitError.max.toExponential(2)}, ${self.partings.length} steps part at gaps up to ${Math.max(0, ...selfGaps).toExponential(2)}`);
      // qinfer is no further from llama.cpp than llama.cpp's two evaluation paths are from each other (x2 for sampling noise).
      expect(r.logitError.max).toBeLessThanOrEqual(2 * self.logitError.max);
      // The wider tie holds only while llama.cpp parts from itself beyond issue 5's 1e-3 on these files.
      if (tie[type] > 1e-3) expect(Math.max(0, ...selfGaps), 'llama.cpp parts from itself only at near-ties now: tighten the tie').toBeGreaterThan(1e-3);
      expect(r.tokenization.mismatches).toEqual([]);
      expect(r.logitError.max).toBeLessThanOrEqual(band[type]);
      expect(r.kld.mean).toBeLessThanOrEqual(1e-4);
      for (const d of r.divergences) {
        expect(d.gapQinfer, `prompt ${d.prompt} step ${d.step}: qinfer ${d.qinfer}, llama.cpp ${d.llamaCpp}`).toBeLessThan(tie[type]);
      }
      // qinfer's own greedy run leaves llama.cpp's only at one of those near-ties.
      r.greedy.firstDivergence.forEach((step: number, p: number) => {
        if (step >= 0) expect(r.divergences.some((d: { prompt: number; step: number }) => d.prompt === p && d.step === step), `prompt ${p} step ${step}`).toBe(true);
      });
    }, 300_000);
  }
});
