// The demo behind `qinfer demo`: the packaged gcide-llama-25m Q8_0 model quantized to a few formats, each
// measured for size, speed and quality against the Q8_0, then a dictionary entry written on the best backend.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { native, packageRoot } from './binding.js';
import { BackendUnavailableError, UnsupportedError, throwIfAborted } from './errors.js';
import { evaluatePerplexity } from './eval.js';
import { type GgufWriteTensor, getMetadata, readGguf, writeGguf } from './gguf.js';
import { type Model, loadModel } from './model.js';
import { expectFunction, expectInteger, expectSignal, expectString, invalid } from './options.js';
import { probe } from './probe.js';
import { PRESETS, PURE_FORMATS } from './quant/presets.js';
import { quantize } from './quantize.js';
import { readTokenFile } from './token-file.js';

export const DEMO_MODEL = join(packageRoot, 'models/gcide-llama-25m-q8_0.gguf');
/** The first 2,048 tokens of the fixture's held-out GCIDE tokens (raw int32). */
export const DEMO_TOKENS = join(packageRoot, 'models/gcide-val-tokens-2k.bin');
export const DEMO_FORMATS = ['q4_0', 'iq4_nl', 'q4_k_m', 'q5_0', 'q6_k'];

export interface DemoOptions {
  model?: string;
  /** Presets of `quantize` to compare with the model (default DEMO_FORMATS). */
  formats?: string[];
  /** Scored tokens: windows of 256 from the demo tokens (default 1024). */
  evalTokens?: number;
  /** Tokens generated for the speed figure and for the dictionary entry (default 64). */
  generateTokens?: number;
  prompt?: string;
  backend?: 'auto' | 'cpu' | 'cuda' | 'vulkan';
  threads?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Stage names: "dequantize", "quantize <f>", "measure <f>", "generate"; done of total stages. */
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface DemoRow {
  format: string;
  bytes: number;
  bitsPerWeight: number;
  /** Prompt processing and generation speed, tokens per second. */
  promptTokensPerSecond: number;
  generationTokensPerSecond: number;
  perplexity: number;
  /** Against the original model on the same tokens (0 for the original itself). */
  kld: { mean: number; p99: number };
  top1: number;
}

export interface DemoResult {
  model: string;
  backend: string;
  /** Why the asked backend was not used, where it was not. */
  backendNote?: string;
  evalTokens: number;
  rows: DemoRow[];
  entry: { format: string; prompt: string; text: string; tokensPerSecond: number };
  seconds: number;
}

const WINDOW = 256;

/** Writes `input` with every quantized matrix decoded to F32 (quantize starts from float weights). */
async function writeDequantized(input: string, output: string, signal?: AbortSignal): Promise<void> {
  const file = await readGguf(input, { signal });
  const fh = await open(input, 'r');
  try {
    const tensors: GgufWriteTensor[] = [];
    for (const t of file.tensors) {
      if (t.type === 0 || t.type === 1 || t.type === 30) {
        tensors.push({ name: t.name, type: t.type, shape: t.shape, source: { kind: 'file', path: input, offset: t.offset, dtype: 'raw' } });
        continue;
      }
      const bytes = new Uint8Array(t.bytes);
      await fh.read(bytes, 0, t.bytes, t.offset);
      const values = native().dequantizeRows(t.type, bytes, t.shape.reduce((a, b) => a * b, 1));
      tensors.push({ name: t.name, type: 0, shape: t.shape, source: { kind: 'data', data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) } });
    }
    const metadata = file.metadata.map((kv) => (kv.key === 'general.file_type' ? { ...kv, value: 0 } : kv));
    await writeGguf({ path: output, metadata, tensors }, { signal });
  } finally {
    await fh.close();
  }
}

async function openModel(path: string, backend: DemoOptions['backend'], threads: number | undefined): Promise<Model> {
  return loadModel(path, { backend, threads, contextSize: 512, sequences: 1 });
}

/** Loads on the asked backend, falling back to the CPU where that backend cannot run models. */
async function openOnBestBackend(path: string, options: DemoOptions): Promise<{ model: Model; backend: string; note?: string }> {
  const asked = options.backend ?? 'auto';
  const name = asked === 'auto' ? (await probe()).selected : asked;
  try {
    return { model: await openModel(path, asked, options.threads), backend: name };
  } catch (err) {
    if (name === 'cpu' || !(err instanceof UnsupportedError || err instanceof BackendUnavailableError)) throw err;
    return { model: await openModel(path, 'cpu', options.threads), backend: 'cpu', note: `${name}: ${err.message}` };
  }
}

async function measure(model: Model, reference: Model | undefined, tokens: Int32Array, generateTokens: number, signal?: AbortSignal) {
  const ev = await evaluatePerplexity(model, tokens, { contextSize: WINDOW, reference, signal });
  const promptIds = Array.from(tokens.subarray(0, 128));
  const summary = await model.generate(promptIds, { maxTokens: generateTokens, ignoreEog: true, signal }).summary;
  return {
    perplexity: ev.perplexity,
    kld: { mean: ev.kld?.mean ?? 0, p99: ev.kld?.p99 ?? 0 },
    top1: ev.top1 ?? 1,
    promptTokensPerSecond: summary.promptTokensPerSecond,
    generationTokensPerSecond: summary.generationTokensPerSecond,
  };
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = performance.now();
  const modelPath = options.model === undefined ? DEMO_MODEL : expectString(options.model, 'model');
  const formats = options.formats ?? DEMO_FORMATS;
  if (!Array.isArray(formats) || formats.length === 0) throw invalid('a non-empty array of format names', 'formats', formats);
  for (const f of formats) {
    if (typeof f !== 'string' || !(f.toLowerCase() in PRESETS || f.toLowerCase() in PURE_FORMATS)) {
      throw invalid(`quantize presets (${Object.keys(PRESETS).join(', ')})`, 'formats', f);
    }
  }
  const evalTokens = options.evalTokens === undefined ? 1024 : expectInteger(options.evalTokens, 'evalTokens', WINDOW, 1 << 20);
  const generateTokens = options.generateTokens === undefined ? 64 : expectInteger(options.generateTokens, 'generateTokens', 2, 4096);
  const prompt = options.prompt === undefined ? 'Quantum \\Quan"tum\\, n.' : expectString(options.prompt, 'prompt');
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(s: string, d: number, t: number) => void>(options.onProgress, 'onProgress');
  const all = await readTokenFile(DEMO_TOKENS);
  if (evalTokens > all.length) throw invalid(`at most ${all.length} tokens`, 'evalTokens', evalTokens);
  const tokens = all.subarray(0, evalTokens - (evalTokens % WINDOW));
  const total = 2 + 2 * formats.length + 1;
  let done = 0;
  const step = (stage: string) => {
    throwIfAborted(signal);
    onProgress?.(stage, done++, total);
  };

  const dir = await mkdtemp(join(tmpdir(), 'qinfer-demo-'));
  const opened: Model[] = [];
  try {
    step('load');
    const best = await openOnBestBackend(modelPath, options);
    const original = best.model;
    opened.push(original);
    const originalFile = await readGguf(modelPath, { signal });
    const originalFormat = String(getMetadata(originalFile, 'general.file_type') === 7 ? 'q8_0' : 'original');
    const rows: DemoRow[] = [];
    const paramCount = originalFile.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    const fileBytes = originalFile.fileSize;
    rows.push({ format: originalFormat, bytes: fileBytes, bitsPerWeight: (8 * originalFile.tensors.reduce((a, t) => a + t.bytes, 0)) / paramCount, ...(await measure(original, undefined, tokens, generateTokens, signal)) });

    step('dequantize');
    const floats = join(dir, 'f32.gguf');
    await writeDequantized(modelPath, floats, signal);
    for (const format of formats) {
      step(`quantize ${format}`);
      const out = join(dir, `${format}.gguf`);
      const q = await quantize({ input: floats, output: out, recipe: { method: 'rtn', format }, threads: options.threads, signal });
      step(`measure ${format}`);
      const model = await loadModel(out, { backend: best.backend as DemoOptions['backend'], threads: options.threads, contextSize: 512, sequences: 1 });
      opened.push(model);
      rows.push({ format, bytes: q.bytes, bitsPerWeight: q.bitsPerWeight, ...(await measure(model, original, tokens, generateTokens, signal)) });
      model.close();
      opened.pop();
    }

    step('generate');
    const seed = options.seed === undefined ? 1 : expectInteger(options.seed, 'seed', 0, 2 ** 32 - 1);
    const entry = await original.generate(prompt, { maxTokens: generateTokens, temperature: 0.7, topP: 0.9, seed, stop: ['\n\n'], signal }).summary;
    onProgress?.('done', total, total);
    return {
      model: modelPath,
      backend: best.backend,
      ...(best.note ? { backendNote: best.note } : {}),
      evalTokens: tokens.length,
      rows,
      entry: { format: originalFormat, prompt, text: entry.text, tokensPerSecond: entry.generationTokensPerSecond },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const m of opened) m.close();
    await rm(dir, { recursive: true, force: true });
  }
}
