// The native Llama graph and engine on tiny random models: logits against a float64 reference, batching,
// prefix reuse, generation, abort and the context limit.
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AbortError, ContextOverflowError, InvalidArgumentError } from '../../lib/errors.js';
import { type Model, loadModel } from '../../lib/model.js';
import { ReferenceLlama } from '../helpers/llama-reference.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'models');
console.log(`model tests: random tokens from seed ${testSeed} (QINFER_TEST_SEED)`);

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

const rows = (flat: Float32Array, n: number) => Array.from({ length: flat.length / n }, (_, i) => flat.subarray(i * n, (i + 1) * n));

for (const [name, kv, tol] of [
  ['tiny-llama.gguf', 'f32', 1e-5],
  ['tiny-qwen2.gguf', 'f32', 1e-5],
  ['tiny-llama.gguf', 'f16', 5e-3],
] as const) {
  it(`${name} logits match the float64 reference (${kv} cache)`, async () => {
    const path = join(fixtures, name);
    const ref = await ReferenceLlama.load(path);
    const model = await loadModel(path, { kvCacheType: kv, threads: 2 });
    try {
      const next = rng();
      const tokens = Array.from({ length: 40 }, () => Math.floor(next() * ref.hp.nVocab));
      const want = ref.logits(tokens);
      const got = rows(await model.evaluate(tokens, { logits: 'all' }), ref.hp.nVocab);
      expect(got.length).toBe(tokens.length);
      for (let i = 0; i < tokens.length; i++) expect(normalizedError(got[i]!, want[i]!), `position ${i}`).toBeLessThan(tol);
    } finally {
      model.close();
    }
  });
}

describe('engine on tiny-llama', () => {
  let model: Model;
  const nVocab = 64;
  beforeAll(async () => {
    model = await loadModel(join(fixtures, 'tiny-llama.gguf'), { kvCacheType: 'f32', contextSize: 64, sequences: 4, threads: 2 });
  });
  afterAll(() => model.close());

  const seq = (seed: number, n: number) => {
    const next = rng(testSeed + seed);
    return Array.from({ length: n }, () => 3 + Math.floor(next() * (nVocab - 3)));
  };

  it('evaluates several sequences in one batch exactly as one by one', async () => {
    const prompts = [seq(1, 9), seq(2, 17), seq(3, 5)];
    const alone = [];
    for (const p of prompts) alone.push(await model.evaluate(p, { logits: 'all' }));
    const before = model.stats().batches;
    const together = await model.evaluateBatch(prompts, { logits: 'all' });
    expect(model.stats().batches - before).toBe(1);
    expect(model.stats().maxSequencesInBatch).toBeGreaterThan(1);
    prompts.forEach((_, i) => {
      rows(together[i]!, nVocab).forEach((r, j) => expect(normalizedError(r, rows(alone[i]!, nVocab)[j]!)).toBeLessThan(1e-5));
    });
  });

  it('reuses a cached prompt prefix with identical logits', async () => {
    const prefix = seq(4, 20);
    const a = [...prefix, ...seq(5, 3)], b = [...prefix, ...seq(6, 4)];
    const full = rows(await model.evaluate(b, { logits: 'all' }), nVocab);
    await model.evaluate(a);
    const before = model.stats().tokens;
    const last = await model.evaluate(b);
    let common = 0;
    while (a[common] === b[common]) common++;
    expect(model.stats().tokens - before).toBe(b.length - common);
    expect(normalizedError(last, full[full.length - 1]!)).toBeLessThan(1e-5);
  });

  it('generates the greedy continuation, alone and concurrently', async () => {
    const prompt = seq(7, 6);
    const expected: number[] = [];
    const ctx = [...prompt];
    for (let i = 0; i < 8; i++) {
      const t = argmax(await model.evaluate(ctx, { logits: 'all' }).then((l) => l.subarray(l.length - nVocab)));
      expected.push(t);
      ctx.push(t);
    }
    const g = model.generate(prompt, { maxTokens: 8 });
    const got: number[] = [];
    for await (const t of g) got.push(t.token);
    const s = await g.summary;
    expect(got).toEqual(expected.slice(0, got.length));
    expect(s.generatedTokens).toBe(got.length);
    expect(['length', 'eog']).toContain(s.finishReason);
    const sampled = { temperature: 0.9, topK: 20, seed: 42, maxTokens: 12 };
    const solo = await model.generate(seq(8, 5), sampled).summary;
    const both = await Promise.all([model.generate(seq(8, 5), sampled).summary, model.generate(prompt, { maxTokens: 8 }).summary]);
    expect(both[0].tokens).toEqual(solo.tokens);
    expect(both[1].tokens).toEqual(got);
  });

  it('aborts a generation through its signal', async () => {
    // Aborted right after submission: the engine sees the flag before it can generate 60 tokens.
    const ac = new AbortController();
    const g = model.generate(seq(9, 4), { maxTokens: 1000, signal: ac.signal, temperature: 1, seed: 1 });
    ac.abort();
    await expect(
      (async () => {
        for await (const _ of g);
      })(),
    ).rejects.toBeInstanceOf(AbortError);
    await expect(g.summary).rejects.toBeInstanceOf(AbortError);
    const pre = AbortSignal.abort();
    await expect(model.evaluate(seq(10, 3), { signal: pre })).rejects.toBeInstanceOf(AbortError);
  });

  it('refuses a prompt longer than the context and stops generation at the limit', async () => {
    await expect(model.evaluate(seq(11, 65))).rejects.toBeInstanceOf(ContextOverflowError);
    const s = await model.generate(seq(12, 60), { maxTokens: 100, temperature: 1, seed: 3 }).summary;
    if (s.finishReason === 'context') expect(60 + s.generatedTokens).toBe(65);
    else expect(s.finishReason).toBe('eog');
  });

  it('validates tokens and options', async () => {
    await expect(model.evaluate([1, 64])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => model.generate([1], { maxTokens: -1 })).toThrow(InvalidArgumentError);
    expect(() => model.generate([1], { stop: [''] })).toThrow(InvalidArgumentError);
  });
});
