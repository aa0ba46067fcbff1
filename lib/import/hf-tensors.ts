// Hugging Face Llama-family tensors -> llama.cpp's names, shapes checked against config.json, Q/K rows permuted for GGUF's RoPE layout.
import { BadFileError, UnsupportedError } from '../errors.js';
import type { HfModelConfig } from './hf-config.js';
import { type OutputType, type PlannedTensor, elements, storedType } from './plan.js';

/** One tensor of the safetensors file(s): where its bytes are and what they hold. */
export interface SourceTensor {
  name: string;
  file: string;
  /** safetensors dtype: "F32", "BF16", "I8", ... */
  dtype: string;
  /** PyTorch order. */
  shape: number[];
  /** Absolute byte offset in `file`. */
  offset: number;
  bytes: number;
}

const DTYPES: Record<string, 'f32' | 'f16' | 'bf16'> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
const DTYPE_BYTES = { f32: 4, f16: 2, bf16: 2 } as const;

/** Tensors a checkpoint may carry that llama.cpp does not use. */
const IGNORED = /\.rotary_emb\.inv_freq$/;

interface Expected {
  hf: string;
  gguf: string;
  shape: number[];
  required: boolean;
  /** Number of heads whose rows get the rotate-half -> interleaved permutation. */
  permuteHeads?: number;
}

/** Every tensor a Llama-family checkpoint of this config may have, in GGUF order. */
function expectedTensors(c: HfModelConfig): Expected[] {
  const q = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const h = c.hiddenSize;
  const ropePermute = c.architecture === 'llama';
  const qwenBias = c.architecture === 'qwen2';
  const list: Expected[] = [{ hf: 'model.embed_tokens.weight', gguf: 'token_embd.weight', shape: [c.vocabSize, h], required: true }];
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    const b = `blk.${i}.`;
    list.push(
      { hf: `${p}input_layernorm.weight`, gguf: `${b}attn_norm.weight`, shape: [h], required: true },
      { hf: `${p}self_attn.q_proj.weight`, gguf: `${b}attn_q.weight`, shape: [q, h], required: true, permuteHeads: ropePermute ? c.heads : undefined },
      { hf: `${p}self_attn.q_proj.bias`, gguf: `${b}attn_q.bias`, shape: [q], required: qwenBias, permuteHeads: ropePermute ? c.heads : undefined },
      { hf: `${p}self_attn.k_proj.weight`, gguf: `${b}attn_k.weight`, shape: [kvDim, h], required: true, permuteHeads: ropePermute ? c.kvHeads : undefined },
      { hf: `${p}self_attn.k_proj.bias`, gguf: `${b}attn_k.bias`, shape: [kvDim], required: qwenBias, permuteHeads: ropePermute ? c.kvHeads : undefined },
      { hf: `${p}self_attn.v_proj.weight`, gguf: `${b}attn_v.weight`, shape: [kvDim, h], required: true },
      { hf: `${p}self_attn.v_proj.bias`, gguf: `${b}attn_v.bias`, shape: [kvDim], required: qwenBias },
      { hf: `${p}self_attn.o_proj.weight`, gguf: `${b}attn_output.weight`, shape: [h, q], required: true },
      { hf: `${p}self_attn.o_proj.bias`, gguf: `${b}attn_output.bias`, shape: [h], required: false },
      { hf: `${p}post_attention_layernorm.weight`, gguf: `${b}ffn_norm.weight`, shape: [h], required: true },
      { hf: `${p}mlp.gate_proj.weight`, gguf: `${b}ffn_gate.weight`, shape: [c.ffnSize, h], required: true },
      { hf: `${p}mlp.gate_proj.bias`, gguf: `${b}ffn_gate.bias`, shape: [c.ffnSize], required: false },
      { hf: `${p}mlp.up_proj.weight`, gguf: `${b}ffn_up.weight`, shape: [c.ffnSize, h], required: true },
      { hf: `${p}mlp.up_proj.bias`, gguf: `${b}ffn_up.bias`, shape: [c.ffnSize], required: false },
      { hf: `${p}mlp.down_proj.weight`, gguf: `${b}ffn_down.weight`, shape: [h, c.ffnSize], required: true },
      { hf: `${p}mlp.down_proj.bias`, gguf: `${b}ffn_down.bias`, shape: [h], required: false },
    );
  }
  list.push({ hf: 'model.norm.weight', gguf: 'output_norm.weight', shape: [h], required: true });
  // Tied embeddings: llama.cpp reuses token_embd for the output when there is no output tensor.
  if (!c.tieWordEmbeddings) list.push({ hf: 'lm_head.weight', gguf: 'output.weight', shape: [c.vocabSize, h], required: true });
  return list;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Maps the checkpoint's tensors to the GGUF tensor list; every missing, unexpected or misshapen tensor is an error naming it. */
export function planHfTensors(c: HfModelConfig, source: ReadonlyMap<string, SourceTensor>, type: OutputType): PlannedTensor[] {
  const expected = expectedTensors(c);
  const known = new Set(expected.map((e) => e.hf));
  if (c.tieWordEmbeddings) known.add('lm_head.weight');
  for (const name of source.keys()) {
    if (!known.has(name) && !IGNORED.test(name)) {
      throw new UnsupportedError(`Unexpected tensor ${name}: it has no llama.cpp equivalent for ${c.hfArchitecture} (${c.layers} layers)`);
    }
  }
  const missing = expected.filter((e) => e.required && !source.has(e.hf)).map((e) => e.hf);
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
    throw new BadFileError(`Missing tensor${missing.length > 1 ? 's' : ''} ${shown}`);
  }
  const planned: PlannedTensor[] = [];
  for (const e of expected) {
    const t = source.get(e.hf);
    if (!t) continue;
    const dtype = DTYPES[t.dtype];
    if (!dtype) throw new UnsupportedError(`Tensor ${t.name} has dtype ${t.dtype}: only F32, F16 and BF16 checkpoints can be converted`);
    if (!sameShape(t.shape, e.shape)) {
      throw new BadFileError(`Tensor ${t.name} has shape [${t.shape.join(', ')}] but config.json implies [${e.shape.join(', ')}]`);
    }
    const need = elements(e.shape) * DTYPE_BYTES[dtype];
    if (t.bytes !== need) throw new BadFileError(`Tensor ${t.name} holds ${t.bytes} bytes, ${elements(e.shape)} ${t.dtype} values need ${need}`);
    const shape = [...e.shape].reverse();
    planned.push({
      name: e.gguf,
      type: storedType(e.gguf, shape, type),
      shape,
      source: { kind: 'file', path: t.file, offset: t.offset, dtype, ...(e.permuteHeads ? { permuteRope: { heads: e.permuteHeads } } : {}) },
    });
  }
  return planned;
}
