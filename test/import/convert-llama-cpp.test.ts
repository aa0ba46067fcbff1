// Acceptance: GGUF files made by convert() load in llama.cpp (node-llama-cpp, CPU) and reproduce the reference logits and greedy text.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { convert } from '../../lib/convert.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';
import { expectMatchesReference, llamaCpp } from '../helpers/llama-cpp.js';
import { llama2cLogits, loadLlama2c } from '../helpers/llama2c-reference.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';

const fixtures = resolve(import.meta.dirname, '../../../shared/fixtures/models');
const gcide = join(fixtures, 'gcide-llama-25m');
const stories = join(fixtures, 'stories260K/stories260K.bin');
const haveGcide = existsSync(join(gcide, 'model.safetensors'));
const haveStories = existsSync(stories);
if (!haveGcide) console.log(`skipping the gcide-llama-25m llama.cpp checks: ${gcide} is absent`);
if (!haveStories) console.log(`skipping the stories260K llama.cpp checks: ${stories} is absent`);

const dir = mkdtempSync(join(tmpdir(), 'qinfer-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The converted tokenizer equals llama.cpp's own conversion of the same Llama-2 tokenizer (vocab/ggml-vocab-llama-spm.gguf). */
async function expectLlamaSpmVocab(output: string): Promise<void> {
  const ours = await readGguf(output);
  const theirs = await readGguf(join(fixtures, '../vocab/ggml-vocab-llama-spm.gguf'));
  for (const key of ['tokenizer.ggml.model', 'tokenizer.ggml.pre', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id']) {
    expect(getMetadata(ours, key), key).toEqual(getMetadata(theirs, key));
  }
  expect(getMetadata(ours, 'general.size_label')).toBe('25M');
  expect(ours.tensors.some((t) => t.name === 'output.weight')).toBe(false);
}

describe.skipIf(!haveGcide)('gcide-llama-25m (Hugging Face) converted and run by llama.cpp', () => {
  const reference = haveGcide
    ? (JSON.parse(readFileSync(join(gcide, 'reference.json'), 'utf8')) as {
        prompts: { ids: number[]; greedy_continuation: number[]; logits_offset: number; logits_shape: [number, number] }[];
      })
    : { prompts: [] };
  const refLogits = haveGcide ? new Float32Array(readFileSync(join(gcide, 'ref_logits.f32')).buffer.slice(0)) : new Float32Array();

  for (const type of ['f32', 'f16'] as const) {
    it(`${type}: logits within 1e-2 of the reference at every position, same greedy continuation`, async () => {
      const output = join(dir, `gcide-${type}.gguf`);
      const r = await convert({ input: gcide, output, type });
      expect(r).toMatchObject({ architecture: 'llama', type, tensors: 74, parameters: 24_877_440 });
      if (type === 'f32') await expectLlamaSpmVocab(output);
      const prompts = reference.prompts.map((p) => p.ids);
      const n = reference.prompts[0]!.greedy_continuation.length;
      const got = await llamaCpp(output, prompts, n);
      let worst = 0;
      reference.prompts.forEach((p, i) => {
        const [positions, vocab] = p.logits_shape;
        for (let pos = 0; pos < positions; pos++) {
          const ref = refLogits.subarray(p.logits_offset + pos * vocab, p.logits_offset + (pos + 1) * vocab);
          const e = normalizedError(got.logits[i]![pos]!, ref);
          worst = Math.max(worst, e);
          expect(e, `prompt ${i} position ${pos}`).toBeLessThanOrEqual(1e-2);
        }
        expect(got.continuations[i], `prompt ${i} greedy continuation`).toEqual(p.greedy_continuation);
      });
      console.log(`gcide ${type}: worst per-position logit error ${worst.toExponential(2)} of the largest logit`);
    });
  }
});

describe.skipIf(!haveStories)(`stories260K (llama2.c) converted and run by llama.cpp (seed ${testSeed})`, () => {
  it('f32 and f16: logits within 1e-2 of a float64 forward pass of the stored weights, greedy choices the reference makes', async () => {
    const next = rng();
    // BOS then random ids: fresh prompts each run (llama2.c's vocabulary is 512 tokens).
    const prompts = [0, 1, 2].map(() => [1, ...Array.from({ length: 2 + Math.floor(next() * 10) }, () => 3 + Math.floor(next() * 509))]);
    for (const type of ['f32', 'f16'] as const) {
      const weights = loadLlama2c(stories, type === 'f16');
      const output = join(dir, `stories-${type}.gguf`);
      await convert({ input: stories, output, type });
      const got = await llamaCpp(output, prompts, 16);
      let worst = 0;
      let exact = 0;
      prompts.forEach((p, i) => {
        const r = expectMatchesReference(got, i, p, (tokens) => llama2cLogits(weights, tokens), 1e-2, `stories260K ${type}`);
        worst = Math.max(worst, r.worst);
        exact += r.exact;
      });
      console.log(`stories260K ${type}: worst per-position logit error ${worst.toExponential(2)} of the largest logit; ${exact}/48 greedy tokens the exact reference argmax`);
    }
  });
});
