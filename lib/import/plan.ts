// What an importer produces: the GGUF metadata and the tensor list (with where each tensor's bytes come from) of one conversion.

import type { GgufKV, TensorSource } from '../gguf.js';
import { GGML_TYPE as GGML } from '../ggml-types.js';

export type { GgufKV, TensorSource };

export type OutputType = 'f32' | 'f16' | 'bf16';
export const OUTPUT_TYPES: readonly OutputType[] = ['f32', 'f16', 'bf16'];

/** ggml type ids of the float types a conversion writes. */
export const GGML_TYPE: Record<OutputType, number> = { f32: GGML.F32, f16: GGML.F16, bf16: GGML.BF16 };
/** llama.cpp's general.file_type (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16). */
export const FILE_TYPE: Record<OutputType, number> = { f32: 0, f16: 1, bf16: 32 };

export interface PlannedTensor {
  /** GGUF (llama.cpp) tensor name. */
  name: string;
  /** ggml type id of the stored tensor. */
  type: number;
  /** ggml order: the row length first (the reverse of PyTorch's shape). */
  shape: number[];
  source: TensorSource;
}

export interface ConvertPlan {
  /** What was read, for messages and the CLI summary: "Hugging Face folder", "llama2.c checkpoint". */
  sourceKind: string;
  architecture: string;
  metadata: GgufKV[];
  tensors: PlannedTensor[];
}

export const kv = {
  str: (key: string, value: string): GgufKV => ({ key, type: 'string', value }),
  u32: (key: string, value: number): GgufKV => ({ key, type: 'u32', value }),
  i32: (key: string, value: number): GgufKV => ({ key, type: 'i32', value }),
  f32: (key: string, value: number): GgufKV => ({ key, type: 'f32', value }),
  bool: (key: string, value: boolean): GgufKV => ({ key, type: 'bool', value }),
  strings: (key: string, value: string[]): GgufKV => ({ key, type: 'array', arrayType: 'string', value }),
  f32s: (key: string, value: number[]): GgufKV => ({ key, type: 'array', arrayType: 'f32', value: Float32Array.from(value) }),
  i32s: (key: string, value: number[]): GgufKV => ({ key, type: 'array', arrayType: 'i32', value: Int32Array.from(value) }),
};

/** The type llama.cpp's converter stores a tensor as: 1-D tensors and norms stay F32, the rest take the requested type. */
export function storedType(name: string, ggmlShape: number[], type: OutputType): number {
  if (ggmlShape.length <= 1 || name.endsWith('_norm.weight')) return GGML_TYPE.f32;
  return GGML_TYPE[type];
}

/** Element count of a shape. */
export function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * llama.cpp's general.size_label: the parameter count rounded to at least two significant digits
 * with a K/M/B/T suffix ("25M", "260K", "1.1B").
 */
export function sizeLabel(parameters: number): string {
  const [scale, suffix] =
    parameters > 1e12 ? [1e-12, 'T'] : parameters > 1e9 ? [1e-9, 'B'] : parameters > 1e6 ? [1e-6, 'M'] : [1e-3, 'K'];
  const scaled = parameters * scale;
  const intDigits = String(Math.round(scaled)).replace(/^0+/, '').length;
  return `${scaled.toFixed(Math.max(2 - intDigits, 0))}${suffix}`;
}
