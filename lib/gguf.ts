// GGUF files: read metadata and tensor infos (parsed and validated natively), write GGUF streamed tensor by tensor.
import { native } from './binding.js';
import { throwIfAborted } from './errors.js';
import { awaitTask } from './native-task.js';
import { expectFunction, expectInteger, expectSignal, expectString, invalid } from './options.js';

export type GgufValueType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string' | 'array';

/**
 * A metadata value. Scalars: number (64-bit integers as bigint), boolean, string. Arrays of numbers
 * come as typed arrays (Uint8Array ... Float64Array, BigInt64Array/BigUint64Array), arrays of bools
 * and strings as plain arrays, arrays of arrays as arrays of those.
 */
export type GgufValue =
  | number
  | bigint
  | boolean
  | string
  | GgufValue[]
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

export interface GgufKV {
  key: string;
  type: GgufValueType;
  value: GgufValue;
  /** Element type when type is 'array'. */
  arrayType?: GgufValueType;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml type id. */
  type: number;
  typeName: string;
  /** ggml order: ne[0] (the contiguous dimension) first. */
  shape: number[];
  /** Absolute file offset of the data. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  dataOffset: number;
  fileSize: number;
  metadata: GgufKV[];
  tensors: GgufTensorInfo[];
}

export type TensorSource =
  | {
      kind: 'file';
      path: string;
      /** Absolute offset of the tensor's first byte. */
      offset: number;
      /** The stored element type; 'raw' copies bytes when they already are the output type. */
      dtype: 'f32' | 'f16' | 'bf16' | 'raw';
      /** Reorders Q/K projection rows from Hugging Face's rotate-half RoPE layout to GGUF's interleaved one. */
      permuteRope?: { heads: number };
    }
  | { kind: 'data'; data: Uint8Array };

export interface GgufWriteTensor {
  name: string;
  /** ggml type id of the output. */
  type: number;
  /** ggml order. */
  shape: number[];
  source: TensorSource;
}

export interface GgufWriteSpec {
  path: string;
  /** Data alignment; default general.alignment from the metadata, else 32. */
  alignment?: number;
  version?: 3;
  metadata: GgufKV[];
  tensors: GgufWriteTensor[];
}

export interface GgufWriteProgress {
  tensorsDone: number;
  tensorsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface GgufWriteOptions {
  signal?: AbortSignal;
  onProgress?: (p: GgufWriteProgress) => void;
}

/** Reads a GGUF file's header, metadata and tensor infos (the tensor data stays on disk). */
export async function readGguf(path: string, options: { signal?: AbortSignal } = {}): Promise<GgufFile> {
  expectString(path, 'path');
  const signal = expectSignal(options.signal);
  throwIfAborted(signal);
  const raw = await awaitTask(native().ggufRead(path), signal);
  return { path, ...raw };
}

/** The value of a metadata key, or undefined. */
export function getMetadata(file: Pick<GgufFile, 'metadata'>, key: string): GgufValue | undefined {
  return file.metadata.find((kv) => kv.key === key)?.value;
}

/**
 * Writes a GGUF file tensor by tensor (sources are read chunk by chunk, never whole), through a
 * temporary file in the target directory renamed when complete: an error or abort leaves nothing behind.
 * Tensor data is padded to the alignment as llama.cpp lays it out; a file without tensors ends after
 * its metadata. A non-default alignment is recorded as general.alignment. Resolves with the file size.
 */
export async function writeGguf(spec: GgufWriteSpec, options: GgufWriteOptions = {}): Promise<{ path: string; bytes: number }> {
  if (typeof spec !== 'object' || spec === null) throw invalid('an object', 'spec', spec);
  expectString(spec.path, 'path');
  if (spec.alignment !== undefined) expectInteger(spec.alignment, 'alignment', 1, 2 ** 31);
  if (spec.version !== undefined && spec.version !== 3) throw invalid('3', 'version', spec.version);
  if (!Array.isArray(spec.metadata)) throw invalid('an array', 'metadata', spec.metadata);
  if (!Array.isArray(spec.tensors)) throw invalid('an array', 'tensors', spec.tensors);
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(p: GgufWriteProgress) => void>(options.onProgress, 'onProgress');
  throwIfAborted(signal);
  const bytes = await awaitTask(native().ggufWrite(spec, onProgress), signal);
  return { path: spec.path, bytes };
}

/** The write spec that reproduces a GGUF file that was read (tensor data copied raw from it). */
export function ggufWriteSpecOf(file: GgufFile, path: string): GgufWriteSpec {
  return {
    path,
    alignment: file.alignment,
    metadata: file.metadata,
    tensors: file.tensors.map((t) => ({
      name: t.name,
      type: t.type,
      shape: t.shape,
      source: { kind: 'file', path: file.path, offset: t.offset, dtype: 'raw' },
    })),
  };
}
