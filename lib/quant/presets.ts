// Quantization presets named like llama.cpp's (q4_k_m, q3_k_s, ...) and the per-tensor type choices they imply,
// following llama.cpp's src/llama-quant.cpp for Llama-family models: higher precision for attn_v, ffn_down,
// attn_output and the output projection, fallbacks when a row length does not fit a format's blocks.
import { findGgmlType } from '../ggml-types.js';

/** ggml type ids used by the presets. */
export const T = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, IQ4_NL: 20, IQ4_XS: 23, BF16: 30,
  /** qinfer's own 32-element 3- and 2-bit formats (ids outside ggml's range). */
  Q3_32: 1001, Q2_32: 1002,
} as const;

export interface Preset {
  /** llama.cpp's general.file_type (llama_ftype). */
  fileType: number;
  /** The type of the weight matrices before the per-tensor rules. */
  base: number;
}

/** llama.cpp's preset names; also the pure formats q4_k, q5_k, q3_k (every matrix in that format). */
export const PRESETS: Record<string, Preset> = {
  f32: { fileType: 0, base: T.F32 },
  f16: { fileType: 1, base: T.F16 },
  bf16: { fileType: 32, base: T.BF16 },
  q8_0: { fileType: 7, base: T.Q8_0 },
  q6_k: { fileType: 18, base: T.Q6_K },
  q5_k_m: { fileType: 17, base: T.Q5_K },
  q5_k_s: { fileType: 16, base: T.Q5_K },
  q5_1: { fileType: 9, base: T.Q5_1 },
  q5_0: { fileType: 8, base: T.Q5_0 },
  q4_k_m: { fileType: 15, base: T.Q4_K },
  q4_k_s: { fileType: 14, base: T.Q4_K },
  q4_1: { fileType: 3, base: T.Q4_1 },
  q4_0: { fileType: 2, base: T.Q4_0 },
  iq4_nl: { fileType: 25, base: T.IQ4_NL },
  iq4_xs: { fileType: 30, base: T.IQ4_XS },
  q3_k_l: { fileType: 13, base: T.Q3_K },
  q3_k_m: { fileType: 12, base: T.Q3_K },
  q3_k_s: { fileType: 11, base: T.Q3_K },
  q2_k: { fileType: 10, base: T.Q2_K },
};

/** Format names that are not presets: every matrix in that format (llama-quantize --pure). qinfer's own
 * q3_32 and q2_32 have no llama_ftype: their general.file_type is their type id. */
export const PURE_FORMATS: Record<string, Preset> = {
  q5_k: { fileType: 17, base: T.Q5_K },
  q4_k: { fileType: 15, base: T.Q4_K },
  q3_k: { fileType: 12, base: T.Q3_K },
  q3_32: { fileType: T.Q3_32, base: T.Q3_32 },
  q2_32: { fileType: T.Q2_32, base: T.Q2_32 },
};

export interface TensorInput {
  name: string;
  /** ggml type id in the source. */
  type: number;
  /** ggml order. */
  shape: number[];
}

export interface TensorOverride {
  pattern: RegExp;
  type: number;
}

export interface PlanContext {
  preset: string;
  pure: boolean;
  /** The method uses calibration importance (llama.cpp's has_imatrix). */
  hasImatrix: boolean;
  nHead: number;
  nHeadKv: number;
  overrides: TensorOverride[];
}

export interface PlannedTensor {
  name: string;
  type: number;
  /** Why the type differs from the preset's base type, when it does. */
  reason?: string;
}

/** llama.cpp's layers that get more bits in the _M mixes: the first and last eighth and every third between. */
function useMoreBits(i: number, n: number): boolean {
  return i < div(n, 8) || i >= div(7 * n, 8) || (i - div(n, 8)) % 3 === 2;
}

/** C's integer division, as llama.cpp's layer arithmetic uses it. */
function div(a: number, b: number): number {
  return Math.trunc(a / b);
}

function blockSize(type: number): number {
  return findGgmlType(type)?.blockSize ?? 1;
}

const FALLBACK: Record<number, number> = {
  [T.Q2_K]: T.Q4_0, [T.Q3_K]: T.Q4_0, [T.Q4_K]: T.Q5_0, [T.Q5_K]: T.Q5_1, [T.Q6_K]: T.Q8_0, [T.IQ4_XS]: T.IQ4_NL,
};

export function isQuantizable(t: TensorInput): boolean {
  return t.shape.length >= 2 && t.name.endsWith('weight') && !t.name.includes('_norm.weight');
}

/** Per-tensor output types for a model's tensors (in file order), with the reasons for every deviation. */
export function planTensorTypes(tensors: TensorInput[], ctx: PlanContext): PlannedTensor[] {
  const preset = PRESETS[ctx.preset] ?? PURE_FORMATS[ctx.preset];
  if (!preset) throw new Error(`unknown preset ${ctx.preset}`);
  const p = ctx.preset;
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const nGqa = ctx.nHead / ctx.nHeadKv;
  const nAttnV = tensors.filter((t) => t.name.endsWith('attn_v.weight')).length;
  const nFfnDown = tensors.filter((t) => t.name.endsWith('ffn_down.weight')).length;
  const quantizedBase = blockSize(preset.base) > 1;
  let iAttnV = 0;
  let iFfnDown = 0;
  return tensors.map((t) => {
    if (!isQuantizable(t)) return { name: t.name, type: t.type };
    let type = preset.base;
    let reason: string | undefined;
    if (!quantizedBase) return { name: t.name, type };
    const manual = ctx.overrides.find((o) => o.pattern.test(t.name));
    const isOutput = t.name === 'output.weight' || (tied && t.name === 'token_embd.weight');
    if (manual) {
      type = manual.type;
      reason = `--tensor-type ${manual.pattern.source}`;
    } else if (!ctx.pure) {
      const before = type;
      if (isOutput) {
        if (t.shape[0]! % blockSize(type) !== 0) type = T.Q8_0;
        else if (type !== T.Q8_0) type = T.Q6_K;
      } else if (t.name.endsWith('attn_v.weight')) {
        if (p === 'q2_k') type = nGqa >= 4 ? T.Q4_K : T.Q3_K;
        else if (p === 'q3_k_m') type = iAttnV < 2 ? T.Q5_K : T.Q4_K;
        else if (p === 'q3_k_l') type = T.Q5_K;
        else if ((p === 'iq4_nl' || p === 'iq4_xs') && nGqa >= 4) type = T.Q5_K;
        else if ((p === 'q4_k_m' || p === 'q5_k_m') && useMoreBits(iAttnV, nAttnV)) type = T.Q6_K;
        else if (p === 'q4_k_s' && iAttnV < 4) type = T.Q5_K;
        iAttnV++;
      } else if (t.name.endsWith('ffn_down.weight')) {
        const i = iFfnDown++;
        const n = nFfnDown;
        if (p === 'q2_k') type = T.Q3_K;
        else if (p === 'q3_k_m') type = i < div(n, 16) ? T.Q5_K : T.Q4_K;
        else if (p === 'q3_k_l') type = T.Q5_K;
        else if (p === 'q4_k_m') type = useMoreBits(i, n) ? T.Q6_K : type;
        else if (i < div(n, 8) && (p === 'iq4_nl' || p === 'iq4_xs') && !ctx.hasImatrix) type = T.Q5_K;
        else if (p === 'q5_k_m' && useMoreBits(i, n)) type = T.Q6_K;
        else if (p === 'q4_k_s' && i < div(n, 8)) type = T.Q5_K;
        else if ((p === 'q4_0' || p === 'q5_0') && ctx.hasImatrix && i < div(n, 8)) type = p === 'q4_0' ? T.Q4_1 : T.Q5_1;
      } else if (t.name.endsWith('attn_output.weight')) {
        if (p === 'q2_k') type = T.Q3_K;
        else if (p === 'q3_k_m') type = T.Q4_K;
        else if (p === 'q3_k_l') type = T.Q5_K;
      }
      if (type !== before) reason = isOutput ? 'output projection' : `${p} mix`;
    }
    const cols = t.shape[0]!;
    if (cols % blockSize(type) !== 0) {
      const wanted = findGgmlType(type)?.name ?? String(type);
      let fallback = FALLBACK[type] ?? type;
      if (cols % blockSize(fallback) !== 0) fallback = T.F16;
      reason = `${cols} columns do not fit ${wanted}'s blocks of ${blockSize(type)}: fell back to ${findGgmlType(fallback)?.name}`;
      type = fallback;
    }
    return reason ? { name: t.name, type, reason } : { name: t.name, type };
  });
}
