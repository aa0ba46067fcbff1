// A scalar float64 forward pass of a Hugging Face Llama / Qwen2 checkpoint in its own layout (rotate-half RoPE, optional q/k/v biases, llama3 and yarn RoPE scaling).
import type { HfTestConfig, HfWeights } from './hf-fixture.js';

function matvec(w: Float32Array, x: Float64Array, rows: number, bias?: Float32Array): Float64Array {
  const n = x.length;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = bias ? bias[i]! : 0;
    for (let j = 0; j < n; j++) s += w[i * n + j]! * x[j]!;
    out[i] = s;
  }
  return out;
}

function rmsnorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * w[i]!);
}

interface RopeScalingConfig {
  rope_type: string;
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
  attention_factor?: number;
  beta_fast?: number;
  beta_slow?: number;
}

/**
 * transformers' "yarn" frequencies and attention factor (_compute_yarn_parameters, truncated correction range):
 * interpolated (divided by the factor) and trained frequencies blended by a linear ramp over the pairs between
 * the dimensions where a pair turns beta_fast and beta_slow times over the original context; cos and sin are
 * scaled by attention_factor, 0.1 ln(factor) + 1 unless given.
 */
function yarn(s: RopeScalingConfig, theta: number, dim: number): { inv: Float64Array; attention: number } {
  const corr = (turns: number) => (dim * Math.log(s.original_max_position_embeddings / (turns * 2 * Math.PI))) / (2 * Math.log(theta));
  const low = Math.max(Math.floor(corr(s.beta_fast ?? 32)), 0);
  let high = Math.min(Math.ceil(corr(s.beta_slow ?? 1)), dim - 1);
  if (low === high) high += 0.001;
  const inv = Float64Array.from({ length: dim / 2 }, (_, i) => {
    const extrapolation = 1 / theta ** ((2 * i) / dim);
    const keep = 1 - Math.min(1, Math.max(0, (i - low) / (high - low)));
    return (extrapolation / s.factor) * (1 - keep) + extrapolation * keep;
  });
  return { inv, attention: s.attention_factor ?? (s.factor <= 1 ? 1 : 0.1 * Math.log(s.factor) + 1) };
}

/** transformers' inverse frequencies, including its "llama3" rescaling, and the factor on cos and sin ("yarn"). */
function inverseFrequencies(c: HfTestConfig, headDim: number): { inv: Float64Array; attention: number } {
  const theta = (c.rope_theta as number | undefined) ?? 10000;
  const s = c.rope_scaling as RopeScalingConfig | undefined;
  if (s?.rope_type === 'yarn') return yarn(s, theta, headDim);
  return { inv: llama3Frequencies(s, theta, headDim), attention: 1 };
}

function llama3Frequencies(s: RopeScalingConfig | undefined, theta: number, headDim: number): Float64Array {
  const inv = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  if (s?.rope_type !== 'llama3') return inv;
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** Logits of every position of `tokens`. */
export function hfLogits(c: HfTestConfig, w: HfWeights, tokens: number[]): Float64Array[] {
  const get = (name: string) => w.get(name)?.data;
  const h = c.hidden_size;
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads;
  const hd = (c.head_dim as number | undefined) ?? h / heads;
  const eps = (c.rms_norm_eps as number | undefined) ?? 1e-6;
  const { inv, attention } = inverseFrequencies(c, hd);
  const keys: Float64Array[][] = Array.from({ length: c.num_hidden_layers }, () => []);
  const values: Float64Array[][] = Array.from({ length: c.num_hidden_layers }, () => []);
  const emb = get('model.embed_tokens.weight')!;
  const head = c.tie_word_embeddings ? emb : get('lm_head.weight')!;
  // Rotate-half: element i of a head pairs with element i + hd/2.
  const rope = (v: Float64Array, nHeads: number, pos: number) => {
    for (let hh = 0; hh < nHeads; hh++) {
      for (let i = 0; i < hd / 2; i++) {
        const a = v[hh * hd + i]!;
        const b = v[hh * hd + i + hd / 2]!;
        const cos = Math.cos(pos * inv[i]!) * attention;
        const sin = Math.sin(pos * inv[i]!) * attention;
        v[hh * hd + i] = a * cos - b * sin;
        v[hh * hd + i + hd / 2] = b * cos + a * sin;
      }
    }
  };
  return tokens.map((token, pos) => {
    let x = Float64Array.from(emb.subarray(token * h, (token + 1) * h));
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}.`;
      const xn = rmsnorm(x, get(`${p}input_layernorm.weight`)!, eps);
      const q = matvec(get(`${p}self_attn.q_proj.weight`)!, xn, heads * hd, get(`${p}self_attn.q_proj.bias`));
      const k = matvec(get(`${p}self_attn.k_proj.weight`)!, xn, kvHeads * hd, get(`${p}self_attn.k_proj.bias`));
      const v = matvec(get(`${p}self_attn.v_proj.weight`)!, xn, kvHeads * hd, get(`${p}self_attn.v_proj.bias`));
      rope(q, heads, pos);
      rope(k, kvHeads, pos);
      keys[l]!.push(k);
      values[l]!.push(v);
      const att = new Float64Array(heads * hd);
      for (let hh = 0; hh < heads; hh++) {
        const g = Math.floor(hh / (heads / kvHeads));
        const scores = keys[l]!.map((kt) => {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q[hh * hd + i]! * kt[g * hd + i]!;
          return s / Math.sqrt(hd);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, b) => a + b, 0);
        values[l]!.forEach((vt, t) => {
          for (let i = 0; i < hd; i++) att[hh * hd + i]! += (e[t]! / sum) * vt[g * hd + i]!;
        });
      }
      const o = matvec(get(`${p}self_attn.o_proj.weight`)!, att, h);
      x = x.map((a, i) => a + o[i]!);
      const xf = rmsnorm(x, get(`${p}post_attention_layernorm.weight`)!, eps);
      const gate = matvec(get(`${p}mlp.gate_proj.weight`)!, xf, c.intermediate_size);
      const up = matvec(get(`${p}mlp.up_proj.weight`)!, xf, c.intermediate_size);
      const act = gate.map((a, i) => (a / (1 + Math.exp(-a))) * up[i]!);
      const down = matvec(get(`${p}mlp.down_proj.weight`)!, act, h);
      x = x.map((a, i) => a + down[i]!);
    }
    return matvec(head, rmsnorm(x, get('model.norm.weight')!, eps), c.vocab_size);
  });
}
