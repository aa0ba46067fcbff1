// Whole models on every available GPU backend: logits against the float64 reference forward pass over the same
// (dequantized) weights, greedy tokens equal to the CPU backend's (up to near-ties), multi-sequence batches,
// prefix reuse, the device memory check.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { convert } from '../../lib/convert.js';
import { OutOfMemoryError } from '../../lib/errors.js';
import { type LoadModelOptions, type Model, loadModel } from '../../lib/model.js';
import { probe } from '../../lib/probe.js';
import { ReferenceLlama } from '../helpers/llama-reference.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';
import { RANDOM_MODEL_VOCAB, YARN_METADATA, writeRandomLlama } from '../helpers/random-model.js';

const p = await probe();
const gpus = p.backends.filter((b) => b.name !== 'cpu');
for (const b of gpus) if (!b.available) console.log(`skipping the ${b.name} model tests: ${b.reason}`);
const stories = resolve(import.meta.dirname, '../../../shared/fixtures/models/stories260K/stories260K.bin');
if (!existsSync(stories)) console.log(`skipping the stories260K GPU test: ${stories} is absent`);
console.log(`GPU model tests: random weights and tokens from seed ${testSeed} (QINFER_TEST_SEED)`);

const dir = mkdtempSync(join(tmpdir(), 'qinfer-gpu-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = (flat: Float32Array, n: number) => Array.from({ length: flat.length / n }, (_, i) => flat.subarray(i * n, (i + 1) * n));

async function greedy(model: Model, prompt: number[], n: number): Promise<number[]> {
  return (await model.generate(prompt, { maxTokens: n, ignoreEog: true }).summary).tokens;
}

// Greedy tokens must match; where they part, the CPU's two best logits must lie within `tie` of its largest
// (a near-tie that rounding differences may break either way), and the GPU's token must be one of those near-ties.
async function expectSameGreedy(cpu: Model, gpu: Model, prompt: number[], n: number, tie: number): Promise<void> {
  const a = await greedy(cpu, prompt, n), g = await greedy(gpu, prompt, n);
  const k = a.findIndex((t, j) => t !== g[j]);
  if (k < 0) return;
  const last = await cpu.evaluate([...prompt, ...a.slice(0, k)]);
  const sorted = [...last].sort((x, y) => y - x);
  const scale = Math.max(...Array.from(last, Math.abs));
  expect(sorted[0]! - sorted[1]!, `step ${k}: ${g[k]} on the GPU vs ${a[k]} on the CPU`).toBeLessThan(tie * scale);
  expect(sorted[0]! - last[g[k]!]!, `step ${k}: the GPU's token is not among the CPU's near-ties`).toBeLessThan(tie * scale);
  console.log(`near-tie at step ${k} of ${JSON.stringify(prompt)} (margin ${((sorted[0]! - sorted[1]!) / scale).toExponential(2)})`);
}

// [format, ggml type, KV cache, logit bound, near-tie bound for greedy tokens against the CPU]. Before a Q4_0/Q8_0
// product a backend keeps the activations in F32 (Vulkan), rounds them to 8 bits as the CPU backend does (CUDA's
// decode products) or to f16 (CUDA's batched tensor-core products, ~5e-4 of the largest logit): its logits must lie
// within the bound of the exact float64 forward pass or of the CPU backend's. The 8-bit rounding moves logits by
// up to ~2e-2 of the largest, hence the near-tie bound.
// Dim 256 (every product 256-column groups) takes CUDA's fused decode kernels throughout (RMSNorm into the product
// after it, SiLU*mul into the down product, residual adds into the products before them, RoPE with the K/V stores).
const FORMATS = [
  ['f32', 0, 'f32', 1e-4, 1e-4, 128],
  ['f16', 1, 'f16', 5e-3, 5e-3, 128],
  ['q8_0', 8, 'f32', 2e-3, 3e-2, 128],
  ['q4_0', 2, 'f32', 2e-3, 3e-2, 128],
  ['q8_0 dim 256', 8, 'f32', 2e-3, 3e-2, 256],
  ['q4_0 dim 256', 2, 'f32', 2e-3, 3e-2, 256],
] as const;

for (const gpu of gpus) {
  describe.skipIf(!gpu.available)(`${gpu.name}: whole models against the CPU backend (seed ${testSeed})`, () => {
    const options = (kv: 'f32' | 'f16'): LoadModelOptions => ({ kvCacheType: kv, contextSize: 96, sequences: 3, threads: 2 });

    for (const [name, type, kv, tol, tie, dim] of FORMATS) {
      it(`random ${name} model, ${kv} cache: logits within ${tol} of exact, greedy tokens, batches of several sequences, prefix reuse`, async () => {
        const next = rng(testSeed + type + dim);
        const path = join(dir, `random-${name.replace(/ /g, '-')}.gguf`);
        await writeRandomLlama(path, type, next, [], dim);
        const cpu = await loadModel(path, { ...options(kv), backend: 'cpu' });
        const dev = await loadModel(path, { ...options(kv), backend: gpu.name });
        try {
          expect(dev.backend).toBe(gpu.name);
          expect(dev.memory().deviceBytes).toBeGreaterThan(0);
          const seq = (n: number) => Array.from({ length: n }, () => 3 + Math.floor(next() * (RANDOM_MODEL_VOCAB - 3)));
          const prompt = seq(40);
          const got = rows(await dev.evaluate(prompt, { logits: 'all' }), RANDOM_MODEL_VOCAB);
          const worstAgainst = (want: ArrayLike<number>[]) => Math.max(...got.map((r, i) => normalizedError(r, want[i]!)));
          const exact = worstAgainst((await ReferenceLlama.load(path)).logits(prompt));
          const asCpu = worstAgainst(rows(await cpu.evaluate(prompt, { logits: 'all' }), RANDOM_MODEL_VOCAB));
          const worst = Math.min(exact, asCpu);
          console.log(`${gpu.name} ${name}: worst per-position logit error ${worst.toExponential(2)} of the largest (against ${exact <= asCpu ? 'the exact pass' : 'the CPU backend'})`);
          expect(worst).toBeLessThan(tol);
          for (let i = 0; i < 3; i++) await expectSameGreedy(cpu, dev, seq(3 + i * 5), 24, tie);

          // Three sequences in one batch, as one by one; then a shared prefix served from the device cache.
          const prompts = [seq(9), seq(17), seq(5)];
          const alone = [];
          for (const s of prompts) alone.push(await dev.evaluate(s, { logits: 'all' }));
          const together = await dev.evaluateBatch(prompts, { logits: 'all' });
          prompts.forEach((_, i) => expect(normalizedError(together[i]!, alone[i]!), `sequence ${i}`).toBeLessThan(1e-5));
          // One more token after a cached prompt takes the one-token path (Q/K/V and gate/up read as one product each).
          const extended = [...prompt, seq(1)[0]!];
          const oneMore = await dev.evaluate(extended);
          const allAtOnce = rows(await dev.evaluate(extended, { logits: 'all' }), RANDOM_MODEL_VOCAB);
          // CUDA's 1-4 token products round activations to 8 bits as the CPU does, while more tokens take f16 tensor
          // cores: a step of a few tokens and a whole-prompt evaluation then differ by that rounding.
          const pathTol = type === 0 || type === 1 ? 1e-5 : gpu.name === 'cuda' ? tie : 2e-3;
          expect(normalizedError(oneMore, allAtOnce[prompt.length]!)).toBeLessThan(pathTol);
          const prefix = seq(20), a = [...prefix, ...seq(3)], b = [...prefix, ...seq(4)];
          const full = rows(await dev.evaluate(b, { logits: 'all' }), RANDOM_MODEL_VOCAB);
          await dev.evaluateBatch([a, seq(30), seq(31)]);  // every slot busy with other tokens
          const before = dev.stats().tokens;
          const last = await dev.evaluate(b);
          expect(dev.stats().tokens - before).toBeLessThan(b.length);
          expect(normalizedError(last, full[b.length - 1]!)).toBeLessThan(pathTol);
        } finally {
          cpu.close();
          dev.close();
        }
      });
    }

    it('random F32 model with YaRN RoPE scaling: logits within 1e-4 of exact and of the CPU, prompt and one-token steps', async () => {
      const next = rng(testSeed + 41);
      const path = join(dir, 'random-yarn-f32.gguf');
      await writeRandomLlama(path, 0, next, YARN_METADATA);
      const cpu = await loadModel(path, { ...options('f32'), backend: 'cpu' });
      const dev = await loadModel(path, { ...options('f32'), backend: gpu.name });
      try {
        const prompt = Array.from({ length: 48 }, () => 3 + Math.floor(next() * (RANDOM_MODEL_VOCAB - 3)));
        const exact = (await ReferenceLlama.load(path)).logits([...prompt, 7]);
        const got = rows(await dev.evaluate(prompt, { logits: 'all' }), RANDOM_MODEL_VOCAB);
        const want = rows(await cpu.evaluate(prompt, { logits: 'all' }), RANDOM_MODEL_VOCAB);
        got.forEach((r, i) => {
          expect(normalizedError(r, exact[i]!), `position ${i} against the exact pass`).toBeLessThan(1e-4);
          expect(normalizedError(r, want[i]!), `position ${i} against the CPU`).toBeLessThan(1e-4);
        });
        // One token after the cached prompt: the fused Q/K/V product and one RoPE over Q and K heads.
        expect(normalizedError(await dev.evaluate([...prompt, 7]), exact[prompt.length]!), 'one-token step').toBeLessThan(1e-4);
        console.log(`${gpu.name} YaRN: worst per-position logit error ${Math.max(...got.map((r, i) => normalizedError(r, exact[i]!))).toExponential(2)} of the largest`);
      } finally {
        cpu.close();
        dev.close();
      }
    });

    it('tiny-qwen2 (Q/K/V biases, NeoX RoPE, tied output): logits as on the CPU, prompt and one-token steps', async () => {
      const path = join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-qwen2.gguf');
      const cpu = await loadModel(path, { ...options('f32'), backend: 'cpu' });
      const dev = await loadModel(path, { ...options('f32'), backend: gpu.name });
      try {
        const next = rng(testSeed + 99);
        const prompt = Array.from({ length: 24 }, () => 3 + Math.floor(next() * 60));
        const want = rows(await cpu.evaluate(prompt, { logits: 'all' }), cpu.vocabularySize);
        rows(await dev.evaluate(prompt, { logits: 'all' }), dev.vocabularySize).forEach((r, i) =>
          expect(normalizedError(r, want[i]!), `position ${i}`).toBeLessThan(1e-4),
        );
        await dev.evaluate(prompt.slice(0, -1));
        expect(normalizedError(await dev.evaluate(prompt), want[prompt.length - 1]!), 'one-token step').toBeLessThan(1e-4);
      } finally {
        cpu.close();
        dev.close();
      }
    });

    it('refuses a model that does not fit in device memory with E_OUT_OF_MEMORY', async () => {
      const path = join(dir, 'random-f32.gguf');
      if (!existsSync(path)) await writeRandomLlama(path, 0, rng(testSeed));
      process.env.QINFER_DEVICE_MEMORY_LIMIT = '100000';
      try {
        await expect(loadModel(path, { backend: gpu.name })).rejects.toSatisfy(
          (e: unknown) => e instanceof OutOfMemoryError && e.code === 'E_OUT_OF_MEMORY' && /needs .* MiB of device memory/.test(e.message),
        );
      } finally {
        delete process.env.QINFER_DEVICE_MEMORY_LIMIT;
      }
    });

    it.skipIf(!existsSync(stories))('stories260K: greedy tokens and logits as on the CPU', async () => {
      const path = join(dir, 'stories260K.gguf');
      if (!existsSync(path)) await convert({ input: stories, output: path, type: 'f32' });
      const cpu = await loadModel(path, { backend: 'cpu', threads: 2, contextSize: 128, sequences: 1 });
      const dev = await loadModel(path, { backend: gpu.name, contextSize: 128, sequences: 1 });
      try {
        const next = rng(testSeed + 77);
        for (let i = 0; i < 3; i++) {
          const prompt = [1, ...Array.from({ length: 4 + i * 3 }, () => 3 + Math.floor(next() * 509))];
          const want = rows(await cpu.evaluate(prompt, { logits: 'all' }), cpu.vocabularySize);
          const got = rows(await dev.evaluate(prompt, { logits: 'all' }), dev.vocabularySize);
          got.forEach((r, j) => expect(normalizedError(r, want[j]!), `prompt ${i} position ${j}`).toBeLessThan(1e-4));
          await expectSameGreedy(cpu, dev, prompt, 32, 1e-4);
        }
      } finally {
        cpu.close();
        dev.close();
      }
    });
  });
}
