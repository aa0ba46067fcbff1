// Generated Llama (GQA, sharded), Qwen2 (biases, tied embeddings), Llama 3 RoPE-scaled and YaRN checkpoints, converted and run by
// qinfer and llama.cpp against a float64 reference of the Hugging Face layout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { convert } from '../../lib/convert.js';
import { loadModel } from '../../lib/model.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';
import { type HfTestConfig, randomHfWeights, writeHfFolder } from '../helpers/hf-fixture.js';
import { hfLogits } from '../helpers/hf-reference.js';
import { expectMatchesReference, llamaCpp } from '../helpers/llama-cpp.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';

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

// YaRN over an original context of 256 with heads of 16 (base 1e4): correction range pairs 0..4 (0.2 and 3.2 before
// rounding), so pair 0 keeps its trained frequency, 1-3 are blended and 4-7 interpolated; max_position_embeddings is
// factor x original so that every transformers version reads the same factor.
const yarnScaling = { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 256 };

const MODELS: {
  name: string;
  config: HfTestConfig;
  biases?: boolean;
  shards?: number;
  check?: (g: Awaited<ReturnType<typeof readGguf>>) => void;
  /** false: llama.cpp does not read these keys for the architecture, so only qinfer is checked against the reference. */
  llamaCpp?: boolean;
}[] = [
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
  {
    name: 'llama-yarn',
    config: { ...base, head_dim: 16, max_position_embeddings: 1024, rope_scaling: yarnScaling },
    check: (g) => {
      expect(getMetadata(g, 'llama.rope.scaling.type')).toBe('yarn');
      expect(getMetadata(g, 'llama.rope.scaling.original_context_length')).toBe(256);
    },
  },
  {
    name: 'qwen2-yarn',
    config: { ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', head_dim: 16, max_position_embeddings: 1024, rope_theta: 1e4, rope_scaling: yarnScaling },
    biases: true,
  },
  {
    // transformers' attention_factor and beta_fast (stored as yarn_attn_factor and yarn_beta_fast): qinfer honours
    // them as transformers does; llama.cpp reads neither key for Llama, so it is not asked.
    name: 'llama-yarn-explicit',
    config: { ...base, head_dim: 16, max_position_embeddings: 1024, rope_scaling: { ...yarnScaling, attention_factor: 1.3, beta_fast: 8, beta_slow: 2 } },
    llamaCpp: false,
    check: (g) => expect([getMetadata(g, 'llama.rope.scaling.yarn_attn_factor'), getMetadata(g, 'llama.rope.scaling.yarn_beta_fast')]).toEqual([Math.fround(1.3), 8]),
  },
];

describe(`generated Hugging Face checkpoints converted and run by qinfer and llama.cpp (seed ${testSeed})`, () => {
  for (const m of MODELS) {
    it(`${m.name}: qinfer's logits within 1e-4 of the reference, llama.cpp's within 1e-2 with the greedy choices the reference makes`, async () => {
      const next = rng(testSeed + m.name.length);
      const weights = randomHfWeights(m.config, next, { biases: m.biases, scale: 0.3 });
      const folder = join(dir, m.name);
      writeHfFolder(folder, m.config, weights, { shards: m.shards });
      const output = join(dir, `${m.name}.gguf`);
      await convert({ input: folder, output, type: 'f32' });
      m.check?.(await readGguf(output));
      const prompts = [0, 1].map(() => Array.from({ length: 3 + Math.floor(next() * 12) }, () => Math.floor(next() * 256)));
      // qinfer on the converted file against the same reference.
      const model = await loadModel(output, { kvCacheType: 'f32', contextSize: 64, threads: 2 });
      let ours = 0;
      try {
        for (const p of prompts) {
          const got = await model.evaluate(p, { logits: 'all' });
          const want = hfLogits(m.config, weights, p);
          want.forEach((row, pos) => (ours = Math.max(ours, normalizedError(got.subarray(pos * row.length, (pos + 1) * row.length), row))));
        }
      } finally {
        model.close();
      }
      expect(ours, `${m.name}: qinfer against the reference`).toBeLessThan(1e-4);
      if (m.llamaCpp === false) {
        console.log(`${m.name}: qinfer within ${ours.toExponential(2)} of the largest logit (llama.cpp not asked)`);
        return;
      }
      const got = await llamaCpp(output, prompts, 8);
      let worst = 0;
      prompts.forEach((p, i) => {
        worst = Math.max(worst, expectMatchesReference(got, i, p, (tokens) => hfLogits(m.config, weights, tokens), 1e-2, m.name).worst);
      });
      console.log(`${m.name}: worst per-position logit error ${worst.toExponential(2)} of the largest logit (llama.cpp), ${ours.toExponential(2)} (qinfer)`);
    });
  }
});
