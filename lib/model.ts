// loadModel and the Model class: evaluation and streaming generation on a natively batched engine.
import { cpus } from 'node:os';

import type { BackendName } from './backend.js';
import { selectBackend } from './backend-open.js';
import { type ModelMemory, type ModelStats, native, type NativeModelHandle, type NativeRequestSummary } from './binding.js';

export type { ModelMemory, ModelStats };
import { AbortError, UnsupportedError, throwIfAborted } from './errors.js';
import { Generation, type GenerateOptions, resolveGenerateOptions } from './generation.js';
import { type GgufFile, getMetadata, readGguf } from './gguf.js';
import { GGML_TYPE } from './ggml-types.js';
import { type LlamaHparams, llamaHparams } from './model-spec.js';
import { type ChatMessage, type RenderChatOptions, renderChat } from './tokenizer/chat.js';
import { tokenizerFromGguf } from './tokenizer/gguf.js';
import type { DecodeOptions } from './tokenizer/decoder.js';
import type { EncodeOptions, Tokenizer } from './tokenizer/tokenizer.js';
import { expectFunction, expectInteger, expectOneOf, expectSignal, invalid } from './options.js';

export interface LoadModelOptions {
  /**
   * Where the model runs; "auto" takes the probe's pick (CUDA, then a Vulkan GPU, then the CPU). Default:
   * QINFER_BACKEND, else auto. On a GPU the weights, KV cache and activations live in device memory; a model
   * that does not fit (QINFER_DEVICE_MEMORY_LIMIT caps the bytes used) fails with OutOfMemoryError.
   */
  backend?: 'auto' | 'cpu' | 'cuda' | 'vulkan';
  /** Worker threads; default: physical cores. */
  threads?: number;
  /** Positions per sequence; default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Sequences evaluated side by side (each with its own cache slot); default 4. */
  sequences?: number;
  /** Most tokens per forward pass; default 512. */
  batchSize?: number;
  /** Element type of the KV cache; default "f32" for F32 models, else "f16". */
  kvCacheType?: 'f16' | 'f32' | 'q8_0';
  signal?: AbortSignal;
  /** Paging the weights in: called with a fraction from 0 to 1. */
  onProgress?: (fraction: number) => void;
}

export interface EvaluateOptions {
  /** "all": logits of every position (rows of vocabularySize); "last" (default): only the last. */
  logits?: 'all' | 'last';
  signal?: AbortSignal;
}

/** One request to the engine: `promise` resolves with its summary; generated tokens stream to onToken. */
export function submit(
  handle: NativeModelHandle,
  kind: 'evaluate' | 'generate',
  tokens: Int32Array,
  options: Record<string, unknown>,
  onToken: ((token: number) => void) | undefined,
  signal: AbortSignal | undefined,
): { promise: Promise<NativeRequestSummary>; abort: () => void } {
  let id = -1;
  const promise = new Promise<NativeRequestSummary>((resolve, reject) => {
    throwIfAborted(signal);
    let onAbort: (() => void) | undefined;
    id = handle.submit(kind, tokens, options, (err, token, summary) => {
      if (token >= 0) {
        onToken?.(token);
        return;
      }
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      // Aborting before the result reaches JS rejects even if the engine had just finished.
      if (signal?.aborted) reject(new AbortError(err?.message, { cause: signal.reason }));
      else if (err) reject(err);
      else resolve(summary!);
    });
    if (signal) {
      onAbort = () => handle.abort(id);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return { promise, abort: () => id >= 0 && handle.abort(id) };
}

export interface ChatOptions extends GenerateOptions {
  /** Variables and flags for the chat template (see renderChat). */
  template?: Omit<RenderChatOptions, 'bosToken' | 'eosToken'>;
}

export class Model {
  readonly path: string;
  /** The vocabulary's tokenizer; undefined for files without one (e.g. converted llama2.c checkpoints). */
  readonly tokenizer: Tokenizer | undefined;
  readonly hparams: LlamaHparams;
  readonly contextSize: number;
  readonly vocabularySize: number;
  /** Token ids that end a generation. */
  readonly eogTokens: readonly number[];
  /** The backend the model runs on. */
  readonly backend: BackendName;
  private handle: NativeModelHandle | undefined;

  /** @internal use loadModel */
  constructor(
    path: string,
    backend: BackendName,
    hparams: LlamaHparams,
    contextSize: number,
    tokenizer: Tokenizer | undefined,
    eogTokens: number[],
    handle: NativeModelHandle,
  ) {
    this.path = path;
    this.backend = backend;
    this.tokenizer = tokenizer;
    this.hparams = hparams;
    this.contextSize = contextSize;
    this.vocabularySize = hparams.nVocab;
    this.eogTokens = eogTokens;
    this.handle = handle;
  }

  private native(): NativeModelHandle {
    if (!this.handle) throw invalid('an open model', 'model', 'a closed model');
    return this.handle;
  }

  /** Logits of the given tokens, evaluated as a new sequence (a cached prefix is reused when only the last row is asked for). */
  async evaluate(tokens: readonly number[] | Int32Array, options: EvaluateOptions = {}): Promise<Float32Array> {
    const logits = options.logits === undefined ? 'last' : expectOneOf(options.logits, ['all', 'last'], 'logits');
    const signal = expectSignal(options.signal);
    const ids = this.checkTokens(tokens, 'tokens');
    const s = await submit(this.native(), 'evaluate', ids, { allLogits: logits === 'all' }, undefined, signal).promise;
    return s.logits!;
  }

  private requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new UnsupportedError(`${this.path} has no tokenizer: pass token ids instead of text`);
    return this.tokenizer;
  }

  /**
   * Logits of several independent sequences, evaluated side by side in shared forward passes (each
   * in its own cache slot; at most `sequences` at once, the rest wait for a free slot).
   */
  async evaluateBatch(sequences: readonly (readonly number[] | Int32Array)[], options: EvaluateOptions = {}): Promise<Float32Array[]> {
    if (!Array.isArray(sequences)) throw invalid('an array of token arrays', 'sequences', sequences);
    const handle = this.native();
    // evaluate() submits before its first await, so every request is queued while the engine holds.
    handle.hold(true);
    let pending: Promise<Float32Array>[];
    try {
      pending = sequences.map((s) => this.evaluate(s, options));
    } finally {
      handle.hold(false);
    }
    return Promise.all(pending);
  }

  /** Text to token ids (BOS first where the vocabulary adds it, unless addBos says otherwise). */
  tokenize(text: string, options?: EncodeOptions): number[] {
    return this.requireTokenizer().encode(text, options);
  }

  /** Token ids to text; pass stripLeadingSpace: false for a continuation (generated text keeps its first space). */
  detokenize(tokens: readonly number[] | Int32Array, options?: DecodeOptions): string {
    return this.requireTokenizer().decode(tokens, options);
  }

  /**
   * Streams the continuation of a prompt (text, tokenized with BOS where the vocabulary adds it, or
   * token ids); see Generation. Text pieces come only when the model has a tokenizer.
   */
  generate(prompt: string | readonly number[] | Int32Array, options: GenerateOptions = {}): Generation {
    const ids = this.checkTokens(typeof prompt === 'string' ? this.tokenize(prompt) : prompt, 'prompt');
    const o = resolveGenerateOptions(options, this.contextSize);
    const decoder = this.tokenizer?.createStreamDecoder({ stripLeadingSpace: false });
    return new Generation(
      o,
      (onToken) =>
        submit(this.native(), 'generate', ids, { sampling: o.sampling, maxTokens: o.maxTokens, eog: Int32Array.from(o.ignoreEog ? [] : this.eogTokens) }, onToken, o.signal),
      decoder,
    );
  }

  /** Renders the conversation with the model's chat template and streams the assistant's reply. */
  chat(messages: readonly ChatMessage[], options: ChatOptions = {}): Generation {
    const tok = this.requireTokenizer();
    if (!tok.chatTemplate) throw new UnsupportedError(`${this.path} has no chat template (tokenizer.chat_template)`);
    const bos = tok.bosId === undefined ? '' : tok.tokenToPiece(tok.bosId, { special: true });
    const eos = tok.eosId === undefined ? '' : tok.tokenToPiece(tok.eosId, { special: true });
    const text = renderChat(tok.chatTemplate, messages, { ...options.template, bosToken: bos, eosToken: eos });
    // Templates that write the BOS text themselves must not get a second one.
    const ids = tok.encode(text, { parseSpecial: true, addBos: tok.addBos && !(bos && text.startsWith(bos)) });
    const { template: _template, ...generateOptions } = options;
    return this.generate(ids, generateOptions);
  }

  memory(): ModelMemory {
    return this.native().memory();
  }

  stats(): ModelStats {
    return this.native().stats();
  }

  /** Ends requests in flight (they reject with AbortError) and unmaps the file. */
  close(): void {
    this.handle?.close();
    this.handle = undefined;
  }

  private checkTokens(tokens: readonly number[] | Int32Array, option: string): Int32Array {
    if (!(tokens instanceof Int32Array) && !Array.isArray(tokens)) throw invalid('an array of token ids', option, tokens);
    const ids = Int32Array.from(tokens);
    if (ids.length === 0) throw invalid('at least one token', option, tokens);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabularySize) throw invalid(`token ids from 0 to ${this.vocabularySize - 1}`, option, t);
    }
    return ids;
  }
}

/** Token ids that end a generation: the tokenizer's, else the vocabulary metadata's EOS/EOT/EOM. */
function eogTokensOf(file: GgufFile, tokenizer: Tokenizer | undefined): number[] {
  if (tokenizer) return Array.from({ length: tokenizer.vocabSize }, (_, i) => i).filter((i) => tokenizer.isEog(i));
  const ids = new Set<number>();
  for (const k of ['eos', 'eot', 'eom']) {
    const v = getMetadata(file, `tokenizer.ggml.${k}_token_id`);
    if (typeof v === 'number') ids.add(v);
  }
  return [...ids];
}

export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  const backend = await selectBackend(options.backend);
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(f: number) => void>(options.onProgress, 'onProgress');
  const file = await readGguf(path, { signal });
  const hp = llamaHparams(file);
  const tokenizer = getMetadata(file, 'tokenizer.ggml.model') === undefined ? undefined : tokenizerFromGguf(file);
  const threads = options.threads === undefined ? 0 : expectInteger(options.threads, 'threads', 1, 4 * cpus().length);
  const contextSize = options.contextSize === undefined ? Math.min(hp.nCtxTrain, 4096) : expectInteger(options.contextSize, 'contextSize', 1, 1 << 20);
  const sequences = options.sequences === undefined ? 4 : expectInteger(options.sequences, 'sequences', 1, 256);
  const batchSize = options.batchSize === undefined ? 512 : expectInteger(options.batchSize, 'batchSize', 1, 8192);
  // An F32 model keeps F32 keys and values so that its logits stay exact; others use F16 like llama.cpp.
  const f32Model = file.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type === GGML_TYPE.F32;
  const kv = options.kvCacheType === undefined ? (f32Model ? 'f32' : 'f16') : expectOneOf(options.kvCacheType, ['f16', 'f32', 'q8_0'] as const, 'kvCacheType');
  throwIfAborted(signal);

  const handle = new (native().NativeModel)({
    path,
    hparams: hp,
    tensors: file.tensors,
    threads,
    contextSize,
    sequences,
    batchSize,
    kvType: { f32: GGML_TYPE.F32, f16: GGML_TYPE.F16, q8_0: GGML_TYPE.Q8_0 }[kv],
    backend: backend.name,
    modulePath: backend.modulePath,
  });
  const onAbort = () => handle.cancelPrefetch();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await handle.prefetch(onProgress ? (done: number, total: number) => onProgress(total ? done / total : 1) : undefined);
  } catch (err) {
    handle.close();
    throw err instanceof AbortError && signal?.aborted ? new AbortError(err.message, { cause: signal.reason }) : err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return new Model(path, backend.name, hp, contextSize, tokenizer, eogTokensOf(file, tokenizer), handle);
}
