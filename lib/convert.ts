// convert(): a Hugging Face model folder or a llama2.c checkpoint -> a GGUF file llama.cpp loads (F32, F16 or BF16).
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { IoError, InvalidArgumentError, UnsupportedError, throwIfAborted } from './errors.js';
import { type GgufWriteProgress, writeGguf } from './gguf.js';
import { planHfFolder } from './import/hf-model.js';
import { planLlama2c } from './import/llama2c.js';
import { type ConvertPlan, OUTPUT_TYPES, type OutputType, elements } from './import/plan.js';
import { expectFunction, expectOneOf, expectSignal, expectString, invalid } from './options.js';

export type ConvertType = OutputType;
export type ConvertProgress = GgufWriteProgress;

export interface ConvertOptions {
  /** A Hugging Face model folder (config.json, *.safetensors, tokenizer files) or a llama2.c checkpoint file. */
  input: string;
  /** The GGUF file to write (through a temporary file renamed when complete). */
  output: string;
  /** Storage type of the 2-D weights; 1-D tensors stay F32. Default: the checkpoint's own (llama2.c: f32). */
  type?: ConvertType;
  signal?: AbortSignal;
  onProgress?: (p: ConvertProgress) => void;
}

export interface ConvertResult {
  output: string;
  bytes: number;
  /** "Hugging Face folder" or "llama2.c checkpoint". */
  source: string;
  architecture: string;
  type: ConvertType;
  tensors: number;
  parameters: number;
}

const GGUF_MAGIC = 'GGUF';

async function plan(input: string, type: ConvertType | undefined): Promise<ConvertPlan> {
  let info;
  try {
    info = await stat(input);
  } catch (err) {
    throw new IoError(`Cannot read ${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`, { cause: err });
  }
  if (info.isDirectory()) return planHfFolder(input, type);
  const head = Buffer.alloc(9);
  const fh = await open(input, 'r');
  try {
    await fh.read(head, 0, 9, 0);
  } finally {
    await fh.close();
  }
  if (head.toString('latin1', 0, 4) === GGUF_MAGIC) throw new InvalidArgumentError(`${input} is already a GGUF file`);
  // A safetensors file: an 8-byte header length, then the JSON header.
  if (input.endsWith('.safetensors') || (head[8] === 0x7b && head.readBigUInt64LE(0) < BigInt(info.size))) {
    throw new UnsupportedError(`${input} is a safetensors file: convert its model folder, which has the config.json and tokenizer it needs`);
  }
  return planLlama2c(input, type ?? 'f32');
}

/** Converts a Hugging Face Llama-family folder or a llama2.c checkpoint to GGUF. */
export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  if (typeof options !== 'object' || options === null) throw invalid('an object', 'options', options);
  const input = expectString(options.input, 'input');
  const output = expectString(options.output, 'output');
  const type = options.type === undefined ? undefined : expectOneOf(options.type, OUTPUT_TYPES, 'type');
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(p: ConvertProgress) => void>(options.onProgress, 'onProgress');
  if (resolve(input) === resolve(output)) throw new InvalidArgumentError(`Expected an output path other than the input for option output but received ${JSON.stringify(output)}`);
  throwIfAborted(signal);
  const p = await plan(input, type);
  throwIfAborted(signal);
  const written = await writeGguf({ path: output, metadata: p.metadata, tensors: p.tensors }, { signal, onProgress });
  const fileType = p.metadata.find((k) => k.key === 'general.file_type')?.value;
  return {
    output: written.path,
    bytes: written.bytes,
    source: p.sourceKind,
    architecture: p.architecture,
    type: type ?? (fileType === 32 ? 'bf16' : fileType === 1 ? 'f16' : 'f32'),
    tensors: p.tensors.length,
    parameters: p.tensors.reduce((sum, t) => sum + elements(t.shape), 0),
  };
}
