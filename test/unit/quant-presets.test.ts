// llama.cpp's per-tensor type choices for its presets on a Llama-2-7B-shaped tensor list (32 layers, 4096 wide,
// untied output) and on a tied 384-wide model where 256-element formats fall back.
import { describe, expect, it } from 'vitest';

import { findGgmlType } from '../../lib/ggml-types.js';
import { type TensorInput, planTensorTypes } from '../../lib/quant/presets.js';

function llamaTensors(layers: number, dim: number, ff: number, tied: boolean): TensorInput[] {
  const t: TensorInput[] = [{ name: 'token_embd.weight', type: 0, shape: [dim, 32000] }];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    t.push({ name: `${p}attn_norm.weight`, type: 0, shape: [dim] });
    for (const op of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) t.push({ name: `${p}${op}.weight`, type: 1, shape: [dim, dim] });
    t.push({ name: `${p}ffn_norm.weight`, type: 0, shape: [dim] });
    t.push({ name: `${p}ffn_gate.weight`, type: 1, shape: [dim, ff] }, { name: `${p}ffn_up.weight`, type: 1, shape: [dim, ff] });
    t.push({ name: `${p}ffn_down.weight`, type: 1, shape: [ff, dim] });
  }
  t.push({ name: 'output_norm.weight', type: 0, shape: [dim] });
  if (!tied) t.push({ name: 'output.weight', type: 1, shape: [dim, 32000] });
  return t;
}

const ctx = { pure: false, hasImatrix: false, nHead: 32, nHeadKv: 32, overrides: [] };
const typeNames = (preset: string, tensors: TensorInput[], extra = {}) =>
  Object.fromEntries(planTensorTypes(tensors, { ...ctx, preset, ...extra }).map((p) => [p.name, findGgmlType(p.type)!.name]));

describe('llama.cpp preset mixes', () => {
  const seven = llamaTensors(32, 4096, 11008, false);

  it('q4_k_m: q6_K for attn_v and ffn_down in the first and last eighths and every third layer between, q6_K output', () => {
    const t = typeNames('q4_k_m', seven);
    const more = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];
    for (let i = 0; i < 32; i++) {
      const want = more.includes(i) ? 'q6_K' : 'q4_K';
      expect(t[`blk.${i}.attn_v.weight`], `layer ${i}`).toBe(want);
      expect(t[`blk.${i}.attn_q.weight`]).toBe('q4_K');
    }
    expect(t['output.weight']).toBe('q6_K');
    expect(t['token_embd.weight']).toBe('q4_K');
    expect(t['blk.0.attn_norm.weight']).toBe('f32');
    expect(t['blk.0.ffn_down.weight']).toBe('q6_K');
    expect(t['blk.4.ffn_down.weight']).toBe('q4_K');
  });

  it('q3_k_m, q2_k and q4_k_s', () => {
    const q3 = typeNames('q3_k_m', seven);
    expect(q3['blk.0.attn_v.weight']).toBe('q5_K');
    expect(q3['blk.2.attn_v.weight']).toBe('q4_K');
    expect(q3['blk.5.attn_output.weight']).toBe('q4_K');
    expect(q3['blk.5.attn_q.weight']).toBe('q3_K');
    const q2 = typeNames('q2_k', seven);
    expect(q2['blk.5.attn_v.weight']).toBe('q3_K');
    expect(q2['blk.5.attn_output.weight']).toBe('q3_K');
    expect(q2['blk.5.attn_k.weight']).toBe('q2_K');
    const q4s = typeNames('q4_k_s', seven);
    expect(q4s['blk.3.attn_v.weight']).toBe('q5_K');
    expect(q4s['blk.4.attn_v.weight']).toBe('q4_K');
  });

  it('q4_0 with importance data protects the first eighth of ffn_down with q4_1', () => {
    const t = typeNames('q4_0', seven, { hasImatrix: true });
    expect(t['blk.0.ffn_down.weight']).toBe('q4_1');
    expect(t['blk.4.ffn_down.weight']).toBe('q4_0');
    expect(typeNames('q4_0', seven)['blk.0.ffn_down.weight']).toBe('q4_0');
  });

  it('a tied 384-wide model: the embedding is the output (q8_0 fallback), 256-block formats fall back per llama.cpp', () => {
    const small = llamaTensors(8, 384, 1024, true);
    const plan = planTensorTypes(small, { ...ctx, preset: 'q4_k_m', nHead: 6, nHeadKv: 2 });
    const t = Object.fromEntries(plan.map((p) => [p.name, findGgmlType(p.type)!.name]));
    expect(t['token_embd.weight']).toBe('q8_0');
    expect(t['blk.1.attn_q.weight']).toBe('q5_0');
    expect(t['blk.1.ffn_down.weight']).toBe('q4_K');
    expect(t['blk.0.ffn_down.weight']).toBe('q6_K');
    expect(plan.find((p) => p.name === 'blk.1.attn_q.weight')!.reason).toMatch(/384 columns do not fit q4_K/);
  });

  it('pure formats and overrides', () => {
    const t = typeNames('q4_k', seven, { pure: true });
    expect(t['output.weight']).toBe('q4_K');
    expect(t['blk.0.attn_v.weight']).toBe('q4_K');
    const o = typeNames('q4_k_m', seven, { overrides: [{ pattern: /attn_v/, type: 8 }] });
    expect(o['blk.0.attn_v.weight']).toBe('q8_0');
  });
});
