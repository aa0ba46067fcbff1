// safetensors files: the header (parsed and validated natively) describing each tensor's dtype, shape and bytes.
import { native } from './binding.js';
import { throwIfAborted } from './errors.js';
import { awaitTask } from './native-task.js';
import { expectSignal, expectString } from './options.js';

/** safetensors dtypes qinfer recognizes (others are refused with E_UNSUPPORTED). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  /** PyTorch order (outermost first). */
  shape: number[];
  /** Absolute file offset of the data. */
  offset: number;
  bytes: number;
}

export interface SafetensorsFile {
  path: string;
  /** 8 + the JSON header's length. */
  dataOffset: number;
  /** The header's __metadata__. */
  metadata: Record<string, string>;
  /** In header order. */
  tensors: SafetensorsTensor[];
}

/** Reads a safetensors header (the tensor data stays on disk). */
export async function readSafetensors(path: string, options: { signal?: AbortSignal } = {}): Promise<SafetensorsFile> {
  expectString(path, 'path');
  const signal = expectSignal(options.signal);
  throwIfAborted(signal);
  const raw = await awaitTask(native().safetensorsRead(path), signal);
  return { path, ...raw };
}
