// config.json -> GGUF architecture keys, checked against the key names and conventions of llama.cpp's converter.
import { describe, expect, it } from 'vitest';

import { BadFileError, UnsupportedError } from '../../lib/errors.js';
import { hfConfigMetadata, llama3RopeFactors, parseHfConfig } from '../../lib/import/hf-config.js';
import type { GgufKV } from '../../lib/import/plan.js';

const asMap = (kvs: GgufKV[]) => Object.fromEntries(kvs.map((k) => [k.key, [k.type, k.value]]));

// The gcide-llama-25m fixture's config (newer transformers: rope_parameters instead of rope_theta).
const gcide = {
  architectures: ['LlamaForCausalLM'],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 384,
  intermediate_size: 1024,
  max_position_embeddings: 1024,
  model_type: 'llama',
  num_attention_heads: 6,
  num_hidden_layers: 8,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_parameters: { rope_theta: 10000.0, rope_type: 'default' },
  tie_word_embeddings: true,
  vocab_size: 32000,
};

describe('config.json mapping', () => {
  it('maps a Llama config with rope_parameters to llama.* keys', () => {
    const c = parseHfConfig(gcide);
    expect(c).toMatchObject({ architecture: 'llama', heads: 6, kvHeads: 2, headDim: 64, tieWordEmbeddings: true });
    expect(asMap(hfConfigMetadata(c))).toEqual({
      'llama.block_count': ['u32', 8],
      'llama.context_length': ['u32', 1024],
      'llama.embedding_length': ['u32', 384],
      'llama.feed_forward_length': ['u32', 1024],
      'llama.attention.head_count': ['u32', 6],
      'llama.attention.head_count_kv': ['u32', 2],
      'llama.rope.freq_base': ['f32', 10000],
      'llama.attention.layer_norm_rms_epsilon': ['f32', 1e-5],
      'llama.attention.key_length': ['u32', 64],
      'llama.attention.value_length': ['u32', 64],
      'llama.vocab_size': ['u32', 32000],
      'llama.rope.dimension_count': ['u32', 64],
    });
  });

  it('reads the older rope_theta and derives head_dim and GQA defaults as llama.cpp does', () => {
    const { rope_parameters: _, head_dim: __, num_key_value_heads: ___, ...old } = gcide;
    const m = asMap(hfConfigMetadata(parseHfConfig({ ...old, rope_theta: 500000 })));
    expect(m['llama.rope.freq_base']).toEqual(['f32', 500000]);
    expect(m['llama.rope.dimension_count']).toEqual(['u32', 64]);
    // No num_key_value_heads and no head_dim in config.json: llama.cpp writes neither key.
    expect(m['llama.attention.head_count_kv']).toBeUndefined();
    expect(m['llama.attention.key_length']).toBeUndefined();
  });

  it('stores linear and yarn rope scaling as llama.cpp keys', () => {
    const linear = asMap(hfConfigMetadata(parseHfConfig({ ...gcide, rope_parameters: undefined, rope_theta: 1e4, rope_scaling: { type: 'linear', factor: 4 } })));
    expect(linear['llama.rope.scaling.type']).toEqual(['string', 'linear']);
    expect(linear['llama.rope.scaling.factor']).toEqual(['f32', 4]);
    expect(linear['llama.rope.freq_base']).toEqual(['f32', 1e4]);
    const yarn = asMap(
      hfConfigMetadata(
        parseHfConfig({ ...gcide, rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 4, original_max_position_embeddings: 32768, beta_fast: 32, attention_factor: 1.1 } }),
      ),
    );
    expect(yarn).toMatchObject({
      'llama.rope.scaling.type': ['string', 'yarn'],
      'llama.rope.scaling.factor': ['f32', 4],
      'llama.rope.scaling.original_context_length': ['u32', 32768],
      'llama.rope.scaling.yarn_beta_fast': ['f32', 32],
      'llama.rope.scaling.yarn_attn_factor': ['f32', 1.1],
      'llama.rope.freq_base': ['f32', 1e6],
    });
    expect(() => parseHfConfig({ ...gcide, rope_parameters: { rope_type: 'yarn', factor: 4 } })).not.toThrow();
    expect(() => hfConfigMetadata(parseHfConfig({ ...gcide, rope_parameters: { rope_type: 'yarn', factor: 4 } }))).toThrow(BadFileError);
    expect(() => hfConfigMetadata(parseHfConfig({ ...gcide, rope_parameters: { rope_type: 'mystery' } }))).toThrow(UnsupportedError);
  });

  it('turns Llama 3 rope scaling into the rope_freqs factors llama.cpp computes', () => {
    const c = parseHfConfig({
      ...gcide,
      head_dim: 128,
      num_attention_heads: 4,
      rope_parameters: undefined,
      rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    });
    expect(asMap(hfConfigMetadata(c))['llama.rope.scaling.type']).toBeUndefined();
    const f = llama3RopeFactors(c)!;
    expect(f.length).toBe(64);
    // High frequencies (short wavelengths) unscaled, low frequencies scaled by the factor, smooth in between.
    expect(f[0]).toBe(1);
    expect(f[63]).toBe(32);
    for (let i = 0; i < 64; i++) {
      const freq = 1 / 500000 ** ((2 * i) / 128);
      const wavelen = (2 * Math.PI) / freq;
      if (wavelen > 8192 / 4 && wavelen < 8192) {
        const smooth = (8192 / wavelen - 1) / 3;
        expect(f[i]).toBeCloseTo(1 / ((1 - smooth) / 32 + smooth), 4);
      }
    }
    expect(llama3RopeFactors(parseHfConfig(gcide))).toBeUndefined();
  });

  it('maps Qwen2 to qwen2.* keys (no vocab_size or rope.dimension_count, as llama.cpp)', () => {
    const c = parseHfConfig({ ...gcide, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', head_dim: undefined, rope_parameters: undefined, rope_theta: 1e6 });
    expect(c.architecture).toBe('qwen2');
    const m = asMap(hfConfigMetadata(c));
    expect(m['qwen2.block_count']).toEqual(['u32', 8]);
    expect(m['qwen2.rope.freq_base']).toEqual(['f32', 1e6]);
    expect(Object.keys(m).some((k) => k.startsWith('llama.') || k.endsWith('vocab_size') || k.endsWith('dimension_count'))).toBe(false);
  });

  it('lifts text_config and accepts Mistral', () => {
    const { architectures: _, ...text } = gcide;
    const c = parseHfConfig({ architectures: ['MistralForCausalLM'], text_config: text });
    expect(c.architecture).toBe('llama');
    expect(c.hfArchitecture).toBe('MistralForCausalLM');
  });

  it('rejects unsupported architectures and broken configs with typed errors', () => {
    expect(() => parseHfConfig({ ...gcide, architectures: ['GPTNeoXForCausalLM'] })).toThrow(/Unsupported architecture GPTNeoXForCausalLM/);
    expect(() => parseHfConfig({ ...gcide, architectures: ['MixtralForCausalLM'] })).toThrow(UnsupportedError);
    expect(() => parseHfConfig({ ...gcide, architectures: undefined, model_type: undefined })).toThrow(BadFileError);
    expect(() => parseHfConfig({ ...gcide, hidden_size: undefined })).toThrow(/"hidden_size" is missing/);
    expect(() => parseHfConfig({ ...gcide, num_hidden_layers: -2 })).toThrow(/num_hidden_layers.*positive integer/);
    expect(() => parseHfConfig({ ...gcide, num_key_value_heads: 4 })).toThrow(/not a multiple of num_key_value_heads/);
    expect(() => parseHfConfig({ ...gcide, hidden_act: 'gelu' })).toThrow(UnsupportedError);
    expect(() => parseHfConfig([1, 2])).toThrow(BadFileError);
  });
});
