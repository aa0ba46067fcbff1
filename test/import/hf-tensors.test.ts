// Hugging Face tensor names, shapes and dtypes -> the GGUF tensor list of llama.cpp's converter.
import { describe, expect, it } from 'vitest';

import { BadFileError, UnsupportedError } from '../../lib/errors.js';
import { type HfModelConfig, parseHfConfig } from '../../lib/import/hf-config.js';
import { type SourceTensor, planHfTensors } from '../../lib/import/hf-tensors.js';

const base = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 48,
  intermediate_size: 96,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  vocab_size: 100,
  tie_word_embeddings: false,
};

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I8: 1, F8_E4M3: 1 };

/** A checkpoint index with every tensor the config implies, in `dtype`, at made-up offsets. */
function checkpoint(c: HfModelConfig, dtype = 'BF16', biases = false): Map<string, SourceTensor> {
  const h = c.hiddenSize;
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [c.vocabSize, h]], ['model.norm.weight', [h]], ['lm_head.weight', [c.vocabSize, h]]];
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [h]],
      [`${p}post_attention_layernorm.weight`, [h]],
      [`${p}self_attn.q_proj.weight`, [q, h]],
      [`${p}self_attn.k_proj.weight`, [kv, h]],
      [`${p}self_attn.v_proj.weight`, [kv, h]],
      [`${p}self_attn.o_proj.weight`, [h, q]],
      [`${p}mlp.gate_proj.weight`, [c.ffnSize, h]],
      [`${p}mlp.up_proj.weight`, [c.ffnSize, h]],
      [`${p}mlp.down_proj.weight`, [h, c.ffnSize]],
      [`${p}self_attn.rotary_emb.inv_freq`, [c.headDim / 2]],
    );
    if (biases) shapes.push([`${p}self_attn.q_proj.bias`, [q]], [`${p}self_attn.k_proj.bias`, [kv]], [`${p}self_attn.v_proj.bias`, [kv]]);
  }
  let offset = 128;
  const m = new Map<string, SourceTensor>();
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * BYTES[dtype]!;
    m.set(name, { name, file: '/x/model.safetensors', dtype, shape, offset, bytes });
    offset += bytes;
  }
  return m;
}

describe('Hugging Face tensor mapping', () => {
  it('names, orders, shapes and types tensors as llama.cpp, permuting Q by heads and K by KV heads', () => {
    const c = parseHfConfig(base);
    const src = checkpoint(c);
    const plan = planHfTensors(c, src, 'f16');
    expect(plan.map((t) => t.name)).toEqual([
      'token_embd.weight',
      ...[0, 1].flatMap((i) =>
        ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down'].map((n) => `blk.${i}.${n}.weight`),
      ),
      'output_norm.weight',
      'output.weight',
    ]);
    const byName = new Map(plan.map((t) => [t.name, t]));
    expect(byName.get('token_embd.weight')).toMatchObject({ type: 1, shape: [48, 100], source: { kind: 'file', dtype: 'bf16', offset: 128 } });
    expect(byName.get('blk.1.attn_q.weight')!.source).toMatchObject({ permuteRope: { heads: 6 }, offset: src.get('model.layers.1.self_attn.q_proj.weight')!.offset });
    expect(byName.get('blk.1.attn_k.weight')!.source).toMatchObject({ permuteRope: { heads: 2 } });
    expect(byName.get('blk.1.attn_v.weight')!.source).not.toHaveProperty('permuteRope');
    expect(byName.get('blk.0.ffn_down.weight')).toMatchObject({ shape: [96, 48], type: 1 });
    // 1-D norms stay F32 whatever the requested type.
    expect(byName.get('blk.0.attn_norm.weight')).toMatchObject({ type: 0, shape: [48] });
    expect(byName.get('output_norm.weight')!.type).toBe(0);
    expect(planHfTensors(c, src, 'bf16').find((t) => t.name === 'output.weight')!.type).toBe(30);
    expect(planHfTensors(c, src, 'f32').every((t) => t.type === 0)).toBe(true);
  });

  it('writes no output tensor for tied embeddings, even when lm_head is stored', () => {
    const c = parseHfConfig({ ...base, tie_word_embeddings: true });
    const src = checkpoint(c);
    expect(planHfTensors(c, src, 'f32').some((t) => t.name === 'output.weight')).toBe(false);
    src.delete('lm_head.weight');
    expect(planHfTensors(c, src, 'f32').some((t) => t.name === 'output.weight')).toBe(false);
  });

  it('maps Qwen2 attention biases (kept F32) without permutation', () => {
    const c = parseHfConfig({ ...base, architectures: ['Qwen2ForCausalLM'] });
    const plan = planHfTensors(c, checkpoint(c, 'F16', true), 'f16');
    const q = plan.find((t) => t.name === 'blk.0.attn_q.bias')!;
    expect(q).toMatchObject({ type: 0, shape: [48], source: { dtype: 'f16' } });
    expect(plan.some((t) => 'permuteRope' in t.source)).toBe(false);
    expect(() => planHfTensors(c, checkpoint(c, 'F16', false), 'f16')).toThrow(/Missing tensors model\.layers\.0\.self_attn\.q_proj\.bias/);
  });

  it('names the tensor on missing tensors, bad shapes, bad sizes, unknown names and unsupported dtypes', () => {
    const c = parseHfConfig(base);
    const missing = checkpoint(c);
    missing.delete('model.layers.1.mlp.up_proj.weight');
    expect(() => planHfTensors(c, missing, 'f16')).toThrow(BadFileError);
    expect(() => planHfTensors(c, missing, 'f16')).toThrow(/Missing tensor model\.layers\.1\.mlp\.up_proj\.weight/);

    const misshapen = checkpoint(c);
    misshapen.get('model.layers.0.self_attn.k_proj.weight')!.shape = [48, 48];
    expect(() => planHfTensors(c, misshapen, 'f16')).toThrow(/k_proj\.weight has shape \[48, 48\] but config\.json implies \[16, 48\]/);

    const short = checkpoint(c);
    short.get('model.norm.weight')!.bytes -= 2;
    expect(() => planHfTensors(c, short, 'f16')).toThrow(/model\.norm\.weight holds 94 bytes/);

    const extra = checkpoint(c);
    extra.set('model.layers.2.mlp.up_proj.weight', { ...extra.get('model.layers.1.mlp.up_proj.weight')!, name: 'model.layers.2.mlp.up_proj.weight' });
    expect(() => planHfTensors(c, extra, 'f16')).toThrow(UnsupportedError);

    for (const dtype of ['I8', 'F8_E4M3']) {
      expect(() => planHfTensors(c, checkpoint(c, dtype), 'f16')).toThrow(new RegExp(`model\\.embed_tokens\\.weight has dtype ${dtype}`));
    }
  });
});
