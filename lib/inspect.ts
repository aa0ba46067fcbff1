// Describing a model file or folder: format, architecture, hyperparameters, tokenizer, tensor table, totals.
import { open, stat } from 'node:fs/promises';

import { BadFileError, IoError } from './errors.js';
import { findGgmlType } from './ggml-types.js';
import { type GgufFile, type GgufValue, getMetadata, readGguf } from './gguf.js';
import { expectSignal, expectString } from './options.js';
import { hfFolderReport } from './inspect-hf.js';
import { readSafetensors } from './safetensors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface InspectTensor {
  name: string;
  /** ggml type name for GGUF ("q4_K"), dtype for safetensors ("BF16"). */
  type: string;
  /** GGUF: ggml order (ne[0] first), as stored; safetensors: PyTorch order. */
  shape: number[];
  bytes: number;
  /** The shard holding it (Hugging Face folders). */
  file?: string;
}

export interface TokenizerSummary {
  model?: string;
  pre?: string;
  vocabSize?: number;
  bos?: { id?: number; text?: string };
  eos?: { id?: number; text?: string };
  chatTemplate?: boolean;
  /** Why the tokenizer files could not be read (Hugging Face folders). */
  error?: string;
}

export interface ModelReport {
  format: 'gguf' | 'safetensors' | 'huggingface';
  path: string;
  architecture: string | null;
  /** Bytes of the model file(s). */
  fileSize: number;
  /** GGUF version. */
  version?: number;
  hyperparameters: Record<string, JsonValue>;
  tokenizer: TokenizerSummary | null;
  /** Every metadata entry; big arrays summarized as {type, length, first}. */
  metadata: Record<string, JsonValue>;
  tensors: InspectTensor[];
  parameters: number;
  tensorBytes: number;
  bitsPerWeight: number;
  /** Per tensor type: how many tensors, parameters and bytes. */
  types: Record<string, { tensors: number; parameters: number; bytes: number }>;
}

const SHOWN_ITEMS = 8;
const FULL_ARRAY = 16;

/** The shortest decimal that reads back as the same float32 (1e-5, not 0.000009999999747378752). */
function shortestF32(x: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const y = Number(x.toPrecision(digits));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

/** A metadata value as JSON: bigints as numbers when exact (else strings), big arrays summarized. */
export function jsonValue(v: GgufValue, type?: string, arrayType?: string): JsonValue {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return !Number.isFinite(v) ? String(v) : type === 'f32' ? shortestF32(v) : v;
  if (typeof v !== 'object') return v;
  const elementType = arrayType ?? (v instanceof Float32Array ? 'f32' : undefined);
  const all = v as ArrayLike<GgufValue>;
  const shown = Array.from({ length: all.length <= FULL_ARRAY ? all.length : SHOWN_ITEMS }, (_, i) => jsonValue(all[i]!, elementType));
  if (all.length <= FULL_ARRAY) return shown;
  const name = arrayType ?? (ArrayBuffer.isView(v) ? v.constructor.name.replace('Array', '').toLowerCase() : typeof all[0]);
  return { type: `array of ${name}`, length: all.length, first: shown };
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Totals of a tensor table: parameters, bytes, bits per weight and a breakdown per type. */
export function summarize(tensors: InspectTensor[]): Pick<ModelReport, 'parameters' | 'tensorBytes' | 'bitsPerWeight' | 'types'> {
  const types: ModelReport['types'] = {};
  let parameters = 0;
  let tensorBytes = 0;
  for (const t of tensors) {
    const n = product(t.shape);
    parameters += n;
    tensorBytes += t.bytes;
    const s = (types[t.type] ??= { tensors: 0, parameters: 0, bytes: 0 });
    s.tensors++;
    s.parameters += n;
    s.bytes += t.bytes;
  }
  return { parameters, tensorBytes, bitsPerWeight: parameters ? (tensorBytes * 8) / parameters : 0, types };
}

function tokenText(tokens: GgufValue | undefined, id: GgufValue | undefined): { id?: number; text?: string } | undefined {
  if (id === undefined) return undefined;
  const n = Number(id);
  const text = Array.isArray(tokens) && typeof tokens[n] === 'string' ? (tokens[n] as string) : undefined;
  return { id: n, text };
}

/** The tokenizer.* metadata of a GGUF (or of what a conversion would write), summarized. */
export function tokenizerSummary(g: Pick<GgufFile, 'metadata'>): TokenizerSummary | null {
  const tokens = getMetadata(g, 'tokenizer.ggml.tokens');
  const model = getMetadata(g, 'tokenizer.ggml.model');
  const pre = getMetadata(g, 'tokenizer.ggml.pre');
  if (model === undefined && tokens === undefined) return null;
  return {
    model: typeof model === 'string' ? model : undefined,
    pre: typeof pre === 'string' ? pre : undefined,
    vocabSize: Array.isArray(tokens) ? tokens.length : undefined,
    bos: tokenText(tokens, getMetadata(g, 'tokenizer.ggml.bos_token_id')),
    eos: tokenText(tokens, getMetadata(g, 'tokenizer.ggml.eos_token_id')),
    chatTemplate: getMetadata(g, 'tokenizer.chat_template') !== undefined,
  };
}

function ggufReport(g: GgufFile): ModelReport {
  const arch = getMetadata(g, 'general.architecture');
  const architecture = typeof arch === 'string' ? arch : null;
  const metadata: Record<string, JsonValue> = {};
  const hyperparameters: Record<string, JsonValue> = {};
  for (const kv of g.metadata) {
    metadata[kv.key] = jsonValue(kv.value, kv.type, kv.arrayType);
    if (architecture && kv.key.startsWith(`${architecture}.`)) hyperparameters[kv.key.slice(architecture.length + 1)] = metadata[kv.key]!;
  }
  const tokenizer = tokenizerSummary(g);
  const tensors = g.tensors.map((t) => ({ name: t.name, type: t.typeName, shape: t.shape, bytes: t.bytes }));
  return {
    format: 'gguf',
    path: g.path,
    architecture,
    fileSize: g.fileSize,
    version: g.version,
    hyperparameters,
    tokenizer,
    metadata,
    tensors,
    ...summarize(tensors),
  };
}

async function safetensorsReport(path: string, signal?: AbortSignal): Promise<ModelReport> {
  const st = await readSafetensors(path, { signal });
  const tensors = st.tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, bytes: t.bytes }));
  return {
    format: 'safetensors',
    path,
    architecture: null,
    fileSize: (await stat(path)).size,
    hyperparameters: {},
    tokenizer: null,
    metadata: st.metadata,
    tensors,
    ...summarize(tensors),
  };
}

async function sniff(path: string): Promise<'gguf' | 'safetensors'> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(9);
    const { bytesRead } = await fh.read(head, 0, 9, 0);
    if (bytesRead >= 4 && head.subarray(0, 4).toString('latin1') === 'GGUF') return 'gguf';
    if (bytesRead === 9 && head[8] === 0x7b /* '{' */) return 'safetensors';
  } finally {
    await fh.close();
  }
  if (path.endsWith('.safetensors')) return 'safetensors';
  throw new BadFileError(`${path} is neither a GGUF nor a safetensors file`);
}

/** Describes a GGUF file, a safetensors file or a Hugging Face model folder. */
export async function inspectModel(path: string, options: { signal?: AbortSignal } = {}): Promise<ModelReport> {
  expectString(path, 'path');
  const signal = expectSignal(options.signal);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new IoError(`Cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (info.isDirectory()) return hfFolderReport(path);
  return (await sniff(path)) === 'gguf' ? ggufReport(await readGguf(path, { signal })) : safetensorsReport(path, signal);
}
