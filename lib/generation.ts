// Generation options and the Generation stream: tokens from the native engine, text with stop strings held back until safe.
import type { NativeRequestSummary } from './binding.js';
import { expectInteger, expectSignal, invalid } from './options.js';

function expectBoolean(value: unknown, option: string): boolean {
  if (typeof value === 'boolean') return value;
  throw invalid('a boolean', option, value);
}
import { type ResolvedSampling, type SamplingOptions, resolveSampling } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; default: until an end-of-generation token or the context is full. */
  maxTokens?: number;
  /** Generation ends before the first of these strings (which is not part of the text). */
  stop?: string[];
  /** Keep generating past end-of-generation tokens (benchmarks). */
  ignoreEog?: boolean;
  signal?: AbortSignal;
}

export interface ResolvedGenerateOptions {
  ignoreEog: boolean;
  maxTokens: number;
  stop: string[];
  signal: AbortSignal | undefined;
  sampling: ResolvedSampling;
}

export function resolveGenerateOptions(o: GenerateOptions, contextSize: number): ResolvedGenerateOptions {
  if (typeof o !== 'object' || o === null) throw invalid('an options object', 'options', o);
  const stop = o.stop ?? [];
  if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string' || s.length === 0)) throw invalid('an array of non-empty strings', 'stop', o.stop);
  return {
    maxTokens: o.maxTokens === undefined ? contextSize : expectInteger(o.maxTokens, 'maxTokens', 0, 2 ** 31 - 1),
    stop,
    ignoreEog: o.ignoreEog === undefined ? false : expectBoolean(o.ignoreEog, 'ignoreEog'),
    signal: expectSignal(o.signal),
    sampling: resolveSampling(o),
  };
}

export interface GeneratedToken {
  token: number;
  /** Text this token completes (empty while a multi-byte character or a possible stop string is pending). */
  text: string;
}

export type FinishReason = 'eog' | 'length' | 'context' | 'stop';

export interface GenerationSummary {
  tokens: number[];
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Prompt tokens found in the cache (a shared prefix) and not evaluated again. */
  reusedTokens: number;
  generatedTokens: number;
  promptSeconds: number;
  generationSeconds: number;
  /** Evaluated prompt tokens per second. */
  promptTokensPerSecond: number;
  /** Tokens per second after the first (each needs one forward pass). */
  generationTokensPerSecond: number;
  seed: number;
}

export interface TextDecoderLike {
  push(id: number): string;
  flush(): string;
}

type Start = (onToken: (token: number) => void) => { promise: Promise<NativeRequestSummary>; abort: () => void };

/** Length of the longest suffix of `text` that begins one of `stops`. */
function heldBack(text: string, stops: readonly string[]): number {
  let keep = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > keep; k--) {
      if (text.endsWith(s.slice(0, k))) {
        keep = k;
        break;
      }
    }
  }
  return keep;
}

/**
 * An async iterable of {token, text}; `summary` resolves when generation ends (the iterator's
 * final value is the summary too). Iterate once. Breaking out of the loop stops the generation.
 */
export class Generation implements AsyncIterable<GeneratedToken> {
  readonly summary: Promise<GenerationSummary>;
  private readonly queue: GeneratedToken[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private stopped = false;
  private error: unknown;
  private readonly tokens: number[] = [];
  private text = '';
  private pending = '';
  private readonly stopNative: () => void;

  /** @internal */
  constructor(
    private readonly options: ResolvedGenerateOptions,
    start: Start,
    private readonly decoder?: TextDecoderLike,
  ) {
    const request = start((t) => this.onToken(t));
    this.stopNative = request.abort;
    this.summary = request.promise.then(
      (s) => this.complete(s),
      (err) => {
        if (this.stopped) return this.complete(undefined);
        this.error = err;
        this.finished = true;
        this.wake?.();
        throw err;
      },
    );
    // Consumers that only iterate should not see an unhandled rejection here.
    this.summary.catch(() => {});
  }

  private onToken(token: number): void {
    if (this.stopped) return;
    this.tokens.push(token);
    let text = '';
    if (this.decoder) {
      this.pending += this.decoder.push(token);
      const stops = this.options.stop;
      let cut = -1;
      for (const s of stops) {
        const i = this.pending.indexOf(s);
        if (i >= 0 && (cut < 0 || i < cut)) cut = i;
      }
      if (cut >= 0) {
        text = this.pending.slice(0, cut);
        this.pending = '';
        this.stopped = true;
        this.stopNative();
      } else {
        const keep = heldBack(this.pending, stops);
        text = this.pending.slice(0, this.pending.length - keep);
        this.pending = this.pending.slice(this.pending.length - keep);
      }
    }
    this.text += text;
    this.queue.push({ token, text });
    this.wake?.();
  }

  private complete(s: NativeRequestSummary | undefined): GenerationSummary {
    if (!this.stopped && this.decoder) {
      const rest = this.pending + this.decoder.flush();
      this.pending = '';
      if (rest) {
        this.text += rest;
        const last = this.queue.length ? this.queue[this.queue.length - 1] : undefined;
        if (last) last.text += rest;
        else this.queue.push({ token: this.tokens[this.tokens.length - 1] ?? -1, text: rest });
      }
    }
    const evaluated = (s?.promptTokens ?? 0) - (s?.reusedTokens ?? 0);
    const summary: GenerationSummary = {
      tokens: this.tokens,
      text: this.text,
      finishReason: this.stopped ? 'stop' : ((s?.finishReason ?? 'length') as FinishReason),
      promptTokens: s?.promptTokens ?? 0,
      reusedTokens: s?.reusedTokens ?? 0,
      generatedTokens: this.tokens.length,
      promptSeconds: s?.promptSeconds ?? 0,
      generationSeconds: s?.generationSeconds ?? 0,
      promptTokensPerSecond: s && s.promptSeconds > 0 ? evaluated / s.promptSeconds : 0,
      generationTokensPerSecond: s && s.generationSeconds > 0 && this.tokens.length > 1 ? (this.tokens.length - 1) / s.generationSeconds : 0,
      seed: this.options.sampling.seed,
    };
    this.finished = true;
    this.wake?.();
    return summary;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GeneratedToken, GenerationSummary, undefined> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.finished) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
      if (this.error !== undefined) throw this.error;
      return await this.summary;
    } finally {
      if (!this.finished) {
        this.stopped = true;
        this.stopNative();
      }
    }
  }
}
