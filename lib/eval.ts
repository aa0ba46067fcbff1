// Perplexity over non-overlapping windows and, against a reference model on the same tokens, KL divergence and top-1 agreement.
import { native } from './binding.js';
import { throwIfAborted } from './errors.js';
import type { Model } from './model.js';
import { awaitTask } from './native-task.js';
import { expectFunction, expectInteger, expectSignal, invalid } from './options.js';

export interface EvaluateTextOptions {
  /** Tokens per window (every position after the first of a window is scored); default 512. */
  contextSize?: number;
  /** Score only the first windows. */
  maxWindows?: number;
  /** Compare with this model's distributions (the unquantized source, typically). */
  reference?: Model;
  signal?: AbortSignal;
  onProgress?: (windowsDone: number, windowsTotal: number) => void;
}

export interface EvaluationResult {
  perplexity: number;
  /** Mean negative log-likelihood per scored token (nats). */
  meanNll: number;
  scoredTokens: number;
  windows: number;
  contextSize: number;
  /** With a reference: KL(reference || model) per position, in nats. */
  kld?: { mean: number; p99: number; max: number };
  /** With a reference: fraction of positions whose most likely token is the same. */
  top1?: number;
  referencePerplexity?: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Running sums of one model's scores over the windows seen so far. */
class Scores {
  nll = 0;
  refNll = 0;
  kl = 0;
  agree = 0;
  scored = 0;
  readonly kls: Float64Array | undefined;

  constructor(capacity: number, withReference: boolean) {
    this.kls = withReference ? new Float64Array(capacity) : undefined;
  }

  add(s: { nll: Float64Array; kl?: Float64Array; top1?: Uint8Array; refNll?: Float64Array }): void {
    for (let i = 0; i < s.nll.length; i++) {
      this.nll += s.nll[i]!;
      if (s.kl && s.top1 && s.refNll && this.kls) {
        this.kls[this.scored] = s.kl[i]!;
        this.kl += s.kl[i]!;
        this.agree += s.top1[i]!;
        this.refNll += s.refNll[i]!;
      }
      this.scored++;
    }
  }

  result(windows: number, contextSize: number): EvaluationResult {
    const r: EvaluationResult = { perplexity: Math.exp(this.nll / this.scored), meanNll: this.nll / this.scored, scoredTokens: this.scored, windows, contextSize };
    if (this.kls) {
      const sorted = this.kls.slice(0, this.scored).sort();
      r.kld = { mean: this.kl / this.scored, p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1]! };
      r.top1 = this.agree / this.scored;
      r.referencePerplexity = Math.exp(this.refNll / this.scored);
    }
    return r;
  }
}

export interface EvaluateModelsOptions extends EvaluateTextOptions {
  /** After every window: each model's results over the windows scored so far (a run stopped early keeps these). */
  onWindow?: (results: EvaluationResult[]) => void;
}

/**
 * Scores `tokens` in consecutive non-overlapping windows of `contextSize` tokens (no BOS inserted;
 * a trailing partial window is dropped), each window a fresh sequence.
 */
export async function evaluatePerplexity(model: Model, tokens: Int32Array | readonly number[], options: EvaluateTextOptions = {}): Promise<EvaluationResult> {
  return (await evaluateModels([model], tokens, options))[0]!;
}

/**
 * evaluatePerplexity for several models on the same windows: the reference's logits are computed once per
 * window and shared, so comparing many quantizations of one model costs one reference pass.
 */
export async function evaluateModels(models: Model[], tokens: Int32Array | readonly number[], options: EvaluateModelsOptions = {}): Promise<EvaluationResult[]> {
  if (!Array.isArray(models) || models.length === 0) throw invalid('a non-empty array of models', 'models', models);
  const ctx = options.contextSize === undefined ? 512 : expectInteger(options.contextSize, 'contextSize', 2, Math.min(...models.map((m) => m.contextSize)));
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(d: number, t: number) => void>(options.onProgress, 'onProgress');
  const onWindow = expectFunction<(r: EvaluationResult[]) => void>(options.onWindow, 'onWindow');
  const ref = options.reference;
  const nVocab = models[0]!.vocabularySize;
  for (const m of [...models.slice(1), ...(ref ? [ref] : [])]) {
    if (m.vocabularySize !== nVocab) throw invalid(`a model with the same vocabulary (${nVocab} tokens)`, m === ref ? 'reference' : 'models', `one with ${m.vocabularySize}`);
  }
  if (ref !== undefined && ctx > ref.contextSize) throw invalid(`at most the reference's context (${ref.contextSize})`, 'contextSize', ctx);
  const ids = Int32Array.from(tokens);
  let windows = Math.floor(ids.length / ctx);
  if (options.maxWindows !== undefined) windows = Math.min(windows, expectInteger(options.maxWindows, 'maxWindows', 1));
  if (windows === 0) throw invalid(`at least ${ctx} tokens (one window)`, 'tokens', `${ids.length} tokens`);

  const scores = models.map(() => new Scores(windows * (ctx - 1), ref !== undefined));
  for (let w = 0; w < windows; w++) {
    throwIfAborted(signal);
    const window = ids.subarray(w * ctx, (w + 1) * ctx);
    const targets = window.subarray(1);
    const refLogits = ref ? await ref.evaluate(window, { logits: 'all', signal }) : undefined;
    for (let i = 0; i < models.length; i++) {
      const logits = await models[i]!.evaluate(window, { logits: 'all', signal });
      scores[i]!.add(await awaitTask(native().logitStats(logits.subarray(0, (ctx - 1) * nVocab), nVocab, targets, refLogits), signal));
    }
    onProgress?.(w + 1, windows);
    onWindow?.(scores.map((s) => s.result(w + 1, ctx)));
  }
  return scores.map((s) => s.result(windows, ctx));
}
