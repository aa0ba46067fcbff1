// Sampling options (validated here, applied natively) and a JS handle on the native sampler.
import { native } from './binding.js';
import { expectInteger, expectNumber } from './options.js';

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches topP; 1 = off. */
  topP?: number;
  /** Drop tokens less likely than minP times the most likely one; 0 = off. */
  minP?: number;
  /** Divides positive (multiplies negative) logits of recent tokens; 1 = off. */
  repeatPenalty?: number;
  /** Subtracted once per occurrence of a recent token. */
  frequencyPenalty?: number;
  /** Subtracted once from every recent token. */
  presencePenalty?: number;
  /** How many recent tokens the penalties look at; -1 = all, 0 = none. Default 64. */
  penaltyLastN?: number;
  /** Same seed, same tokens. Default: random (reported in the generation summary). */
  seed?: number;
}

export type ResolvedSampling = Required<SamplingOptions>;

export function resolveSampling(o: SamplingOptions = {}): ResolvedSampling {
  return {
    temperature: o.temperature === undefined ? 0 : expectNumber(o.temperature, 'temperature', 0, 100),
    topK: o.topK === undefined ? 0 : expectInteger(o.topK, 'topK', 0, 2 ** 31 - 1),
    topP: o.topP === undefined ? 1 : expectNumber(o.topP, 'topP', 0, 1),
    minP: o.minP === undefined ? 0 : expectNumber(o.minP, 'minP', 0, 1),
    repeatPenalty: o.repeatPenalty === undefined ? 1 : expectNumber(o.repeatPenalty, 'repeatPenalty', 0.01, 100),
    frequencyPenalty: o.frequencyPenalty === undefined ? 0 : expectNumber(o.frequencyPenalty, 'frequencyPenalty', -100, 100),
    presencePenalty: o.presencePenalty === undefined ? 0 : expectNumber(o.presencePenalty, 'presencePenalty', -100, 100),
    penaltyLastN: o.penaltyLastN === undefined ? 64 : expectInteger(o.penaltyLastN, 'penaltyLastN', -1, 2 ** 31 - 1),
    seed: o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : expectInteger(o.seed, 'seed', 0, Number.MAX_SAFE_INTEGER),
  };
}

export interface Sampler {
  readonly options: ResolvedSampling;
  sample(logits: Float32Array): number;
  /** Records a token (prompt or generated) for the penalties. */
  accept(token: number): void;
  reset(): void;
}

export function createSampler(options?: SamplingOptions): Sampler {
  const resolved = resolveSampling(options);
  const s = new (native().NativeSampler)(resolved);
  return {
    options: resolved,
    sample: (logits) => s.sample(logits),
    accept: (token) => s.accept(token),
    reset: () => s.reset(),
  };
}
