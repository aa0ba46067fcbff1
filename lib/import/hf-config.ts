// Hugging Face config.json of Llama-family models -> hyperparameters and the llama.* / qwen2.* GGUF keys llama.cpp's converter writes.
import { BadFileError, UnsupportedError } from '../errors.js';
import { type GgufKV, kv } from './plan.js';

export type ImportArchitecture = 'llama' | 'qwen2';

/** HF architecture class -> GGUF architecture. */
const ARCHITECTURES: Record<string, ImportArchitecture> = {
  LlamaForCausalLM: 'llama',
  LLaMAForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
};
const MODEL_TYPES: Record<string, ImportArchitecture> = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2' };

export interface HfModelConfig {
  architecture: ImportArchitecture;
  /** The class named in config.json ("LlamaForCausalLM"), or its model_type. */
  hfArchitecture: string;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffnSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  /** The merged config (text_config lifted to the top level, as llama.cpp does). */
  hparams: Record<string, unknown>;
  /** rope_parameters (or the older rope_scaling) with rope_theta & co mirrored in, as llama.cpp normalizes them. */
  rope: Record<string, unknown>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveInt(h: Json, key: string, file: string): number {
  const v = h[key];
  if (v === undefined || v === null) throw new BadFileError(`${file}: "${key}" is missing`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new BadFileError(`${file}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function findKey(h: Json, keys: readonly string[]): unknown {
  for (const k of keys) if (h[k] !== undefined && h[k] !== null) return h[k];
  return undefined;
}

function optionalNumber(h: Json, keys: readonly string[], file: string): number | undefined {
  const v = findKey(h, keys);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadFileError(`${file}: "${keys.find((k) => h[k] !== undefined)}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses config.json (already JSON-decoded); `file` names it in messages. */
export function parseHfConfig(json: unknown, file = 'config.json'): HfModelConfig {
  if (!isObject(json)) throw new BadFileError(`${file}: expected a JSON object`);
  const hparams: Json = isObject(json.text_config) ? { ...json, ...json.text_config } : { ...json };
  const archList = Array.isArray(hparams.architectures) ? hparams.architectures : [];
  const named = typeof archList[0] === 'string' ? archList[0] : undefined;
  const modelType = typeof hparams.model_type === 'string' ? hparams.model_type : undefined;
  const architecture = named !== undefined ? ARCHITECTURES[named] : modelType !== undefined ? MODEL_TYPES[modelType] : undefined;
  if (!architecture) {
    const what = named ?? modelType;
    if (what === undefined) throw new BadFileError(`${file}: neither "architectures" nor "model_type" says what the model is`);
    throw new UnsupportedError(
      `Unsupported architecture ${what}: qinfer converts ${Object.keys(ARCHITECTURES).join(', ')} (Llama 1/2/3, Mistral, TinyLlama, SmolLM, Qwen2)`,
    );
  }
  const act = hparams.hidden_act ?? hparams.hidden_activation;
  if (act !== undefined && act !== 'silu') throw new UnsupportedError(`${file}: hidden_act ${JSON.stringify(act)} is not supported (Llama-family models use "silu")`);

  const hiddenSize = positiveInt(hparams, 'hidden_size', file);
  const layers = positiveInt(hparams, 'num_hidden_layers', file);
  const heads = positiveInt(hparams, 'num_attention_heads', file);
  const kvHeads = hparams.num_key_value_heads == null ? heads : positiveInt(hparams, 'num_key_value_heads', file);
  if (heads % kvHeads !== 0) throw new BadFileError(`${file}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  let headDim: number;
  if (hparams.head_dim != null) headDim = positiveInt(hparams, 'head_dim', file);
  else if (hiddenSize % heads === 0) headDim = hiddenSize / heads;
  else throw new BadFileError(`${file}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads} and head_dim is missing`);
  if (headDim % 2 !== 0) throw new BadFileError(`${file}: the head dimension ${headDim} must be even for RoPE`);

  return {
    architecture,
    hfArchitecture: named ?? modelType ?? '',
    hiddenSize,
    layers,
    heads,
    kvHeads,
    headDim,
    ffnSize: positiveInt(hparams, 'intermediate_size', file),
    vocabSize: positiveInt(hparams, 'vocab_size', file),
    tieWordEmbeddings: hparams.tie_word_embeddings === true,
    hparams,
    rope: normalizeRope(hparams),
  };
}

/** llama.cpp reads rope settings from rope_parameters (newer transformers) or rope_scaling, and mirrors rope_theta & co into them. */
function normalizeRope(h: Json): Json {
  const base = isObject(h.rope_parameters) ? h.rope_parameters : isObject(h.rope_scaling) ? h.rope_scaling : {};
  const rope: Json = { ...base };
  if (rope.full_attention !== undefined || rope.sliding_attention !== undefined) return rope;
  const theta = findKey(h, ['rope_theta', 'rotary_emb_base']);
  if (rope.rope_theta === undefined && theta !== undefined) rope.rope_theta = theta;
  if (rope.rope_type === undefined && rope.type !== undefined) rope.rope_type = rope.type;
  if (rope.original_max_position_embeddings === undefined && h.original_max_position_embeddings !== undefined) {
    rope.original_max_position_embeddings = h.original_max_position_embeddings;
  }
  return rope;
}

const fullAttentionRope = (c: HfModelConfig): Json => (isObject(c.rope.full_attention) ? c.rope.full_attention : c.rope);

function ropeNumber(rope: Json, key: string): number | undefined {
  const v = rope[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadFileError(`config.json: rope parameter "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

const CONTEXT_KEYS = ['max_position_embeddings', 'n_ctx', 'n_positions', 'max_length', 'max_sequence_length', 'model_max_length'];

/** The architecture keys, in the order llama.cpp's converter writes them. */
export function hfConfigMetadata(c: HfModelConfig): GgufKV[] {
  const a = c.architecture;
  const h = c.hparams;
  const out: GgufKV[] = [kv.u32(`${a}.block_count`, c.layers)];
  const ctxKey = CONTEXT_KEYS.find((k) => h[k] != null);
  if (ctxKey !== undefined) out.push(kv.u32(`${a}.context_length`, positiveInt(h, ctxKey, 'config.json')));
  out.push(kv.u32(`${a}.embedding_length`, c.hiddenSize));
  out.push(kv.u32(`${a}.feed_forward_length`, c.ffnSize));
  out.push(kv.u32(`${a}.attention.head_count`, c.heads));
  if (h.num_key_value_heads != null) out.push(kv.u32(`${a}.attention.head_count_kv`, c.kvHeads));

  const rope = fullAttentionRope(c);
  const ropeType = typeof rope.rope_type === 'string' ? rope.rope_type : undefined;
  const factor = ropeNumber(rope, 'factor');
  if (ropeType === 'linear' && factor !== undefined) {
    out.push(kv.str(`${a}.rope.scaling.type`, 'linear'), kv.f32(`${a}.rope.scaling.factor`, factor));
  } else if (ropeType === 'yarn' && factor !== undefined) {
    const orig = ropeNumber(rope, 'original_max_position_embeddings');
    if (orig === undefined) throw new BadFileError('config.json: yarn rope scaling needs original_max_position_embeddings');
    out.push(kv.str(`${a}.rope.scaling.type`, 'yarn'), kv.f32(`${a}.rope.scaling.factor`, factor), kv.u32(`${a}.rope.scaling.original_context_length`, orig));
    const optional: [string, string[]][] = [
      ['yarn_ext_factor', ['extrapolation_factor']],
      ['yarn_attn_factor', ['attention_factor', 'attn_factor']],
      ['yarn_beta_fast', ['beta_fast']],
      ['yarn_beta_slow', ['beta_slow']],
    ];
    for (const [key, names] of optional) {
      const name = names.find((n) => rope[n] !== undefined && rope[n] !== null);
      if (name !== undefined) out.push(kv.f32(`${a}.rope.scaling.${key}`, ropeNumber(rope, name)!));
    }
  } else if (ropeType === 'su' || ropeType === 'longrope') {
    out.push(kv.str(`${a}.rope.scaling.type`, 'longrope'));
  } else if (ropeType !== undefined && ropeType !== 'default' && ropeType.toLowerCase() !== 'llama3') {
    throw new UnsupportedError(`config.json: RoPE scaling type ${JSON.stringify(ropeType)} is not supported`);
  }
  const theta = ropeNumber(rope, 'rope_theta');
  if (theta !== undefined) out.push(kv.f32(`${a}.rope.freq_base`, theta));
  const eps = optionalNumber(h, ['rms_norm_eps', 'norm_eps'], 'config.json');
  if (eps !== undefined) out.push(kv.f32(`${a}.attention.layer_norm_rms_epsilon`, eps));
  if (h.head_dim != null) out.push(kv.u32(`${a}.attention.key_length`, c.headDim), kv.u32(`${a}.attention.value_length`, c.headDim));
  if (a === 'llama') out.push(kv.u32('llama.vocab_size', c.vocabSize), kv.u32('llama.rope.dimension_count', c.headDim));
  return out;
}

/**
 * Llama 3's "llama3" RoPE scaling: llama.cpp stores the per-frequency factors as an F32 tensor
 * rope_freqs.weight (head_dim / 2 values) rather than as metadata. Undefined for other rope types.
 */
export function llama3RopeFactors(c: HfModelConfig): Float32Array | undefined {
  const rope = fullAttentionRope(c);
  if (typeof rope.rope_type !== 'string' || rope.rope_type.toLowerCase() !== 'llama3') return undefined;
  const base = ropeNumber(rope, 'rope_theta') ?? 10000;
  const factor = ropeNumber(rope, 'factor') ?? 8;
  const lowFreqFactor = ropeNumber(rope, 'low_freq_factor') ?? 1;
  const highFreqFactor = ropeNumber(rope, 'high_freq_factor') ?? 4;
  const oldContext = ropeNumber(rope, 'original_max_position_embeddings') ?? 8192;
  const lowFreqWavelen = oldContext / lowFreqFactor;
  const highFreqWavelen = oldContext / highFreqFactor;
  const dim = c.headDim;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / dim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) out[i] = 1;
    else if (wavelen > lowFreqWavelen) out[i] = factor;
    else {
      const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}
