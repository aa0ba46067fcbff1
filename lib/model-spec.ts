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
  /** Positions are multiplied by this (linear RoPE scaling). */
  ropeFreqScale: number;
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

  let ropeFreqScale = 1;
  const scalingType = getMetadata(file, a('rope.scaling.type'));
  const factor = num(file, a('rope.scaling.factor'), 0);
  if (scalingType === 'linear' && factor > 0) ropeFreqScale = 1 / factor;
  else if (scalingType === undefined && num(file, a('rope.scale_linear'), 0) > 0) ropeFreqScale = 1 / num(file, a('rope.scale_linear'));
  else if (scalingType !== undefined && scalingType !== 'none' && scalingType !== 'linear') {
    // Llama 3 scaling is stored as the rope_freqs tensor, which the graph applies; YaRN is not implemented.
    if (!(scalingType === 'llama3' && file.tensors.some((t) => t.name === 'rope_freqs.weight'))) {
      throw new UnsupportedError(`${file.path}: RoPE scaling "${String(scalingType)}" is not supported (none, linear, and Llama 3 frequency factors are)`);
    }
  }

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
    ropeFreqScale,
    rmsEps: num(file, a('attention.layer_norm_rms_epsilon'), 1e-5),
  };
}
