// Generated Llama (GQA, sharded), Qwen2 (biases, tied embeddings) and Llama 3 RoPE-scaled checkpoints, converted and run by llama.cpp against a float64 reference of the Hugging Face layout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { convert } from '../../lib/convert.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';
import { type HfTestConfig, randomHfWeights, writeHfFolder } from '../helpers/hf-fixture.js';
import { hfLogits } from '../helpers/hf-reference.js';
import { expectMatchesReference, llamaCpp } from '../helpers/llama-cpp.js';
import { rng, testSeed } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-hf-llama-cpp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: HfTestConfig = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 64,
  intermediate_size: 96,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  vocab_size: 272,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

const MODELS: { name: string; config: HfTestConfig; biases?: boolean; shards?: number; check?: (g: Awaited<ReturnType<typeof readGguf>>) => void }[] = [
  { name: 'llama-gqa', config: base, shards: 3 },
  {
    name: 'qwen2',
    config: { ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true, rope_theta: 1e6 },
    biases: true,
    check: (g) => {
      expect(getMetadata(g, 'general.architecture')).toBe('qwen2');
      expect(g.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    },
  },
  {
    name: 'llama3-rope',
    // A short original context makes the scaled frequencies matter within a few positions.
    config: { ...base, head_dim: 16, rope_scaling: { rope_type: 'llama3', factor: 4, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 } },
    check: (g) => expect(g.tensors.find((t) => t.name === 'rope_freqs.weight')?.shape).toEqual([8]),
  },
];

describe(`generated Hugging Face checkpoints converted and run by llama.cpp (seed ${testSeed})`, () => {
  for (const m of MODELS) {
    it(`${m.name}: logits within 1e-2 of the reference, greedy choices the reference makes`, async () => {
      const next = rng(testSeed + m.name.length);
      const weights = randomHfWeights(m.config, next, { biases: m.biases, scale: 0.3 });
      const folder = join(dir, m.name);
      writeHfFolder(folder, m.config, weights, { shards: m.shards });
      const output = join(dir, `${m.name}.gguf`);
      await convert({ input: folder, output, type: 'f32' });
      m.check?.(await readGguf(output));
      const prompts = [0, 1].map(() => Array.from({ length: 3 + Math.floor(next() * 12) }, () => Math.floor(next() * 256)));
      const got = await llamaCpp(output, prompts, 8);
      let worst = 0;
      prompts.forEach((p, i) => {
        worst = Math.max(worst, expectMatchesReference(got, i, p, (tokens) => hfLogits(m.config, weights, tokens), 1e-2, m.name).worst);
      });
      console.log(`${m.name}: worst per-position logit error ${worst.toExponential(2)} of the largest logit`);
    });
  }
});
