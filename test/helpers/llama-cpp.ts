// Running llama.cpp (node-llama-cpp, CPU) on token ids from tests, and comparing its answers with a float64 reference.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { expect } from 'vitest';

import { normalizedError } from './random.js';

/** Why node-llama-cpp's CPU binary cannot load here, or undefined when it can. */
export async function llamaCppUnavailable(): Promise<string | undefined> {
  try {
    const { getLlama } = await import('node-llama-cpp');
    await (await getLlama({ gpu: false, build: 'never', logLevel: 'disabled' as never })).dispose();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export interface LlamaCppAnswer {
  /** Per prompt, per position: the logits row. */
  logits: Float32Array[][];
  continuations: number[][];
}

/** llama.cpp's logits for every prompt position and its greedy continuation of `n` tokens, from a separate process. */
export async function llamaCpp(model: string, prompts: number[][], n: number, kvCache: 'F16' | 'F32' = 'F16'): Promise<LlamaCppAnswer> {
  const dir = mkdtempSync(join(tmpdir(), 'qinfer-llama-cpp-'));
  try {
    const promptsFile = join(dir, 'prompts.json');
    const out = join(dir, 'logits.bin');
    writeFileSync(promptsFile, JSON.stringify(prompts));
    const script = resolve(import.meta.dirname, 'llama-cpp-eval.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, model, promptsFile, String(n), out, kvCache], { maxBuffer: 1 << 24 });
    const { vocab, continuations } = JSON.parse(stdout) as { vocab: number; continuations: number[][] };
    const all = new Float32Array(readFileSync(out).buffer.slice(0));
    let row = 0;
    const logits = prompts.map((p) => p.map(() => all.subarray(vocab * row, vocab * ++row)));
    return { logits, continuations };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Checks llama.cpp against a reference on one prompt: every prompt position's logits within `tolerance`
 * of the row's largest logit, and every greedy token the reference's argmax up to near-ties within the
 * same tolerance. `reference(tokens)` returns the logits of every position. Returns the worst logit
 * error and how many greedy tokens were the exact argmax.
 */
export function expectMatchesReference(
  got: LlamaCppAnswer,
  index: number,
  prompt: number[],
  reference: (tokens: number[]) => ArrayLike<number>[],
  tolerance: number,
  what: string,
): { worst: number; exact: number } {
  const continuation = got.continuations[index]!;
  // One causal pass over prompt + llama.cpp's continuation scores every prompt position and every greedy step.
  const ref = reference([...prompt, ...continuation.slice(0, -1)]);
  let worst = 0;
  ref.slice(0, prompt.length).forEach((row, pos) => {
    const e = normalizedError(got.logits[index]![pos]!, row);
    worst = Math.max(worst, e);
    expect(e, `${what} prompt ${JSON.stringify(prompt)} position ${pos}`).toBeLessThanOrEqual(tolerance);
  });
  let exact = 0;
  continuation.forEach((token, step) => {
    const row = ref[prompt.length - 1 + step]!;
    let best = 0;
    let scale = 0;
    for (let t = 0; t < row.length; t++) {
      if (row[t]! > row[best]!) best = t;
      scale = Math.max(scale, Math.abs(row[t]!));
    }
    if (token === best) exact++;
    expect(row[best]! - row[token]!, `${what} prompt ${JSON.stringify(prompt)} step ${step}: llama.cpp chose ${token}, the reference ${best}`).toBeLessThanOrEqual(tolerance * scale);
  });
  return { worst, exact };
}
