// From a GGUF file's metadata to the hyperparameters and tensor table of a Llama-family model.
import { BadFileError, UnsupportedError } from './errors.js';
import { type GgufFile, getMetadata } from './gguf.js';

export interface LlamaHparams {
  architecture: string;
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  headDim: number;
  nRot: number;
  nCtxTrain: number;
  /** 1 for NeoX-style RoPE (rotating the two halves of a head), 0 for the interleaved layout. */
  ropeNeox: number;
  ropeTheta: number;
  /** Positions are multiplied by this (linear RoPE scaling; YaRN's interpolated frequencies: 1 / factor). */
  ropeFreqScale: number;
  /**
   * YaRN (rope.scaling.type "yarn"): the share of its trained frequency that a pair below the correction range
   * keeps (1 unless the file stores rope.scaling.yarn_ext_factor); 0 when YaRN is off.
   */
  ropeExtFactor: number;
  /** cos and sin are multiplied by this: YaRN's 0.1 ln(factor) + 1 (or yarn_attn_factor), times rope.scaling.attn_factor. */
  ropeAttnFactor: number;
  /** YaRN's correction range: rotations over the original context at which extrapolation stops (fast) and interpolation starts (slow). */
  ropeYarnBetaFast: number;
  ropeYarnBetaSlow: number;
  /** The context the model was trained on before YaRN (rope.scaling.original_context_length, else context_length); 0 without YaRN. */
  ropeYarnOrigCtx: number;
  rmsEps: number;
}

/** Architectures whose graph is the Llama decoder; the value says whether RoPE is NeoX-style. */
const ARCHITECTURES: Record<string, { neox: boolean }> = {
  llama: { neox: false },
  mistral: { neox: false },
  qwen2: { neox: true },
};

function num(file: GgufFile, key: string, fallback?: number): number {
  const v = getMetadata(file, key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new BadFileError(`${file.path}: metadata key ${key} is missing`);
  }
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new BadFileError(`${file.path}: metadata key ${key} is not a number`);
  return n;
}

function positiveInt(file: GgufFile, key: string, fallback?: number): number {
  const n = num(file, key, fallback);
  if (!Number.isInteger(n) || n <= 0 || n > 2 ** 31 - 1) throw new BadFileError(`${file.path}: metadata key ${key} = ${n} is not a positive integer`);
  return n;
}

export function llamaHparams(file: GgufFile): LlamaHparams {
  const arch = getMetadata(file, 'general.architecture');
  if (typeof arch !== 'string') throw new BadFileError(`${file.path}: general.architecture is missing`);
  const kind = ARCHITECTURES[arch];
  if (!kind) {
    throw new UnsupportedError(`${file.path}: architecture "${arch}" is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  }
  const a = (k: string) => `${arch}.${k}`;
  const nEmbd = positiveInt(file, a('embedding_length'));
  const nHead = positiveInt(file, a('attention.head_count'));
  const nHeadKv = positiveInt(file, a('attention.head_count_kv'), nHead);
  if (nHead % nHeadKv !== 0) throw new BadFileError(`${file.path}: ${nHead} attention heads cannot share ${nHeadKv} KV heads evenly`);
  const headDim = positiveInt(file, a('attention.key_length'), nEmbd / nHead);
  if (num(file, a('attention.value_length'), headDim) !== headDim) throw new UnsupportedError(`${file.path}: key and value head sizes differ`);
  const nRot = positiveInt(file, a('rope.dimension_count'), headDim);
  if (nRot > headDim || nRot % 2 !== 0) throw new BadFileError(`${file.path}: RoPE dimension ${nRot} does not fit heads of ${headDim}`);

  const embd = file.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embd) throw new BadFileError(`${file.path}: the model has no tensor token_embd.weight`);
  const nVocab = positiveInt(file, a('vocab_size'), embd.shape[1]);

  const rope = ropeScaling(file, arch);

  return {
    architecture: arch,
    nVocab,
    nEmbd,
    nLayer: positiveInt(file, a('block_count')),
    nHead,
    nHeadKv,
    nFf: positiveInt(file, a('feed_forward_length')),
    headDim,
    nRot,
    nCtxTrain: positiveInt(file, a('context_length'), 2048),
    ropeNeox: kind.neox ? 1 : 0,
    ropeTheta: num(file, a('rope.freq_base'), 10000),
    ...rope,
    rmsEps: num(file, a('attention.layer_norm_rms_epsilon'), 1e-5),
  };
}

type RopeScaling = Pick<LlamaHparams, 'ropeFreqScale' | 'ropeExtFactor' | 'ropeAttnFactor' | 'ropeYarnBetaFast' | 'ropeYarnBetaSlow' | 'ropeYarnOrigCtx'>;

/**
 * RoPE scaling as llama.cpp reads it: `{arch}.rope.scaling.type` none / linear / yarn (llama3's factors are the
 * rope_freqs tensor), `.factor` (or the older `rope.scale_linear`), `.attn_factor`; for YaRN also
 * `.original_context_length` (else `context_length`, as llama.cpp falls back) and, where stored,
 * `.yarn_ext_factor`, `.yarn_attn_factor`, `.yarn_beta_fast`, `.yarn_beta_slow` (defaults 1, 0.1 ln(factor) + 1, 32, 1).
 */
function ropeScaling(file: GgufFile, arch: string): RopeScaling {
  const a = (k: string) => `${arch}.rope.scaling.${k}`;
  const positive = (key: string, fallback: number) => {
    const v = num(file, key, fallback);
    if (!(v > 0)) throw new BadFileError(`${file.path}: metadata key ${key} = ${v} must be positive`);
    return v;
  };
  const out: RopeScaling = { ropeFreqScale: 1, ropeExtFactor: 0, ropeAttnFactor: positive(a('attn_factor'), 1), ropeYarnBetaFast: 32, ropeYarnBetaSlow: 1, ropeYarnOrigCtx: 0 };
  // As llama.cpp reads them: the type defaults to linear, the factor is .factor, else the older rope.scale_linear.
  const scalingType = getMetadata(file, a('type')) ?? 'linear';
  const factorKey = [a('factor'), `${arch}.rope.scale_linear`].find((k) => getMetadata(file, k) !== undefined);
  const factor = factorKey === undefined ? 0 : num(file, factorKey);
  if (factor < 0) throw new BadFileError(`${file.path}: RoPE scaling factor ${factorKey} = ${factor} must not be negative`);
  if (scalingType === 'yarn') {
    if (factorKey === undefined) throw new BadFileError(`${file.path}: YaRN RoPE scaling needs ${a('factor')}`);
    if (!(factor > 0)) throw new BadFileError(`${file.path}: YaRN RoPE scaling factor ${factorKey} = ${factor} must be positive`);
    const origKey = getMetadata(file, a('original_context_length')) !== undefined ? a('original_context_length') : `${arch}.context_length`;
    if (getMetadata(file, origKey) === undefined) {
      throw new BadFileError(`${file.path}: YaRN RoPE scaling needs the original context length (${a('original_context_length')} or ${arch}.context_length)`);
    }
    const mul = getMetadata(file, a('yarn_log_multiplier'));
    if (mul !== undefined && mul !== 0) throw new UnsupportedError(`${file.path}: YaRN with ${a('yarn_log_multiplier')} (DeepSeek's mscale_all_dim) is not supported`);
    out.ropeYarnOrigCtx = positiveInt(file, origKey);
    out.ropeFreqScale = 1 / factor;
    out.ropeExtFactor = num(file, a('yarn_ext_factor'), 1);
    if (!(out.ropeExtFactor >= 0)) throw new BadFileError(`${file.path}: metadata key ${a('yarn_ext_factor')} = ${out.ropeExtFactor} must not be negative`);
    out.ropeYarnBetaFast = positive(a('yarn_beta_fast'), 32);
    out.ropeYarnBetaSlow = positive(a('yarn_beta_slow'), 1);
    // The attention magnitude: transformers' attention_factor when the converter stored it, else YaRN's
    // 0.1 ln(s) + 1 for s > 1 (llama.cpp's get_mscale); rope.scaling.attn_factor multiplies either.
    const magnitude = getMetadata(file, a('yarn_attn_factor')) !== undefined
      ? positive(a('yarn_attn_factor'), 1)
      : out.ropeExtFactor !== 0 && factor > 1 ? 0.1 * Math.log(factor) + 1 : 1;
    out.ropeAttnFactor *= magnitude;
  } else if (scalingType === 'linear') {
    if (factor > 0) out.ropeFreqScale = 1 / factor;  // a factor of 0 means none, as in llama.cpp
  } else if (scalingType !== 'none') {
    // Llama 3 scaling is stored as the rope_freqs tensor, which the graph applies.
    if (!(scalingType === 'llama3' && file.tensors.some((t) => t.name === 'rope_freqs.weight'))) {
      throw new UnsupportedError(`${file.path}: RoPE scaling "${String(scalingType)}" is not supported (none, linear, yarn, and Llama 3 frequency factors are)`);
    }
  }
  return out;
}
