// Acceptance: GGUF files made by convert() load in llama.cpp (node-llama-cpp, CPU) and reproduce the reference logits and greedy text.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { convert } from '../../lib/convert.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';
import { llama2cLogits, loadLlama2c } from '../helpers/llama2c-reference.js';
import { rng, testSeed } from '../helpers/random.js';

const fixtures = resolve(import.meta.dirname, '../../../shared/fixtures/models');
const gcide = join(fixtures, 'gcide-llama-25m');
const stories = join(fixtures, 'stories260K/stories260K.bin');
const haveGcide = existsSync(join(gcide, 'model.safetensors'));
const haveStories = existsSync(stories);
if (!haveGcide) console.log(`skipping the gcide-llama-25m llama.cpp checks: ${gcide} is absent`);
if (!haveStories) console.log(`skipping the stories260K llama.cpp checks: ${stories} is absent`);

const dir = mkdtempSync(join(tmpdir(), 'qinfer-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface LlamaCppAnswer {
  /** Per prompt, per position: the logits row. */
  logits: Float32Array[][];
  continuations: number[][];
}

/** llama.cpp's logits for every prompt position and its greedy continuation, from a separate process. */
async function llamaCpp(model: string, prompts: number[][], n: number): Promise<LlamaCppAnswer> {
  const promptsFile = join(dir, 'prompts.json');
  const out = join(dir, 'logits.bin');
  writeFileSync(promptsFile, JSON.stringify(prompts));
  const script = resolve(import.meta.dirname, '../helpers/llama-cpp-eval.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script, model, promptsFile, String(n), out], { maxBuffer: 1 << 24 });
  const { vocab, continuations } = JSON.parse(stdout) as { vocab: number; continuations: number[][] };
  const all = new Float32Array(readFileSync(out).buffer.slice(0));
  let row = 0;
  const logits = prompts.map((p) => p.map(() => all.subarray(vocab * row, vocab * ++row)));
  return { logits, continuations };
}

/** max |a - b| over the row, relative to the row's largest |reference| logit. */
function rowError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return err / scale;
}

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
          const e = rowError(got.logits[i]![pos]!, ref);
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
        const continuation = got.continuations[i]!;
        expect(continuation).toHaveLength(16);
        // One causal pass over prompt + llama.cpp's continuation scores every prompt position and every greedy step.
        const ref = llama2cLogits(weights, [...p, ...continuation.slice(0, -1)]);
        ref.slice(0, p.length).forEach((row, pos) => {
          const e = rowError(got.logits[i]![pos]!, row);
          worst = Math.max(worst, e);
          expect(e, `${type} prompt ${JSON.stringify(p)} position ${pos}`).toBeLessThanOrEqual(1e-2);
        });
        // Each greedy token must be the reference's argmax, up to near-ties within the logit tolerance
        // (random prompts make degenerate, nearly tied distributions where rounding may pick either).
        continuation.forEach((token, step) => {
          const row = ref[p.length - 1 + step]!;
          let best = 0;
          for (let t = 1; t < row.length; t++) if (row[t]! > row[best]!) best = t;
          const scale = Math.max(...Array.from(row, Math.abs));
          if (token === best) exact++;
          expect(row[best]! - row[token]!, `${type} prompt ${JSON.stringify(p)} step ${step}: llama.cpp chose ${token}, the reference ${best}`).toBeLessThanOrEqual(1e-2 * scale);
        });
      });
      console.log(`stories260K ${type}: worst per-position logit error ${worst.toExponential(2)} of the largest logit; ${exact}/48 greedy tokens the exact reference argmax`);
    }
  });
});
