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

/**
 * Scores `tokens` in consecutive non-overlapping windows of `contextSize` tokens (no BOS inserted;
 * a trailing partial window is dropped), each window a fresh sequence.
 */
export async function evaluatePerplexity(model: Model, tokens: Int32Array | readonly number[], options: EvaluateTextOptions = {}): Promise<EvaluationResult> {
  const ctx = options.contextSize === undefined ? 512 : expectInteger(options.contextSize, 'contextSize', 2, model.contextSize);
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(d: number, t: number) => void>(options.onProgress, 'onProgress');
  const ref = options.reference;
  if (ref !== undefined && ref.vocabularySize !== model.vocabularySize) {
    throw invalid(`a model with the same vocabulary (${model.vocabularySize} tokens)`, 'reference', `one with ${ref.vocabularySize}`);
  }
  if (ref !== undefined && ctx > ref.contextSize) throw invalid(`at most the reference's context (${ref.contextSize})`, 'contextSize', ctx);
  const ids = Int32Array.from(tokens);
  let windows = Math.floor(ids.length / ctx);
  if (options.maxWindows !== undefined) windows = Math.min(windows, expectInteger(options.maxWindows, 'maxWindows', 1));
  if (windows === 0) throw invalid(`at least ${ctx} tokens (one window)`, 'tokens', `${ids.length} tokens`);

  const nVocab = model.vocabularySize;
  let nllSum = 0, refNllSum = 0, klSum = 0, agree = 0, scored = 0;
  const kls = ref ? new Float64Array(windows * (ctx - 1)) : undefined;
  for (let w = 0; w < windows; w++) {
    throwIfAborted(signal);
    const window = ids.subarray(w * ctx, (w + 1) * ctx);
    const [logits, refLogits] = await Promise.all([
      model.evaluate(window, { logits: 'all', signal }),
      ref ? ref.evaluate(window, { logits: 'all', signal }) : undefined,
    ]);
    const targets = window.subarray(1);
    const s = await awaitTask(native().logitStats(logits.subarray(0, (ctx - 1) * nVocab), nVocab, targets, refLogits), signal);
    for (let i = 0; i < targets.length; i++) {
      nllSum += s.nll[i]!;
      if (s.kl && s.top1 && s.refNll && kls) {
        kls[scored] = s.kl[i]!;
        klSum += s.kl[i]!;
        agree += s.top1[i]!;
        refNllSum += s.refNll[i]!;
      }
      scored++;
    }
    onProgress?.(w + 1, windows);
  }
  const result: EvaluationResult = {
    perplexity: Math.exp(nllSum / scored),
    meanNll: nllSum / scored,
    scoredTokens: scored,
    windows,
    contextSize: ctx,
  };
  if (kls) {
    kls.sort();
    result.kld = { mean: klSum / scored, p99: quantile(kls, 0.99), max: kls[kls.length - 1]! };
    result.top1 = agree / scored;
    result.referencePerplexity = Math.exp(refNllSum / scored);
  }
  return result;
}
