// Perplexity, KL divergence and top-1 agreement of evaluatePerplexity against the same numbers from the float64 reference.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evaluateModels, evaluatePerplexity } from '../../lib/eval.js';
import { type Model, loadModel } from '../../lib/model.js';
import { ReferenceLlama } from '../helpers/llama-reference.js';
import { rng, testSeed } from '../helpers/random.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'models');
const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

function logSoftmax(row: Float64Array): Float64Array {
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
  return row.map((v) => v - lse);
}

describe('evaluatePerplexity on tiny models', () => {
  let model: Model, other: Model;
  beforeAll(async () => {
    model = await loadModel(join(fixtures, 'tiny-llama.gguf'), { contextSize: 32, kvCacheType: 'f32' });
    other = await loadModel(join(fixtures, 'tiny-qwen2.gguf'), { contextSize: 32, kvCacheType: 'f32' });
  });
  afterAll(() => {
    model.close();
    other.close();
  });

  it('matches the reference perplexity, KL divergence and top-1 agreement', async () => {
    console.log(`eval test tokens from seed ${testSeed}`);
    const next = rng(testSeed + 100);
    const tokens = Array.from({ length: 3 * 16 + 5 }, () => Math.floor(next() * 64));
    const ref = await ReferenceLlama.load(join(fixtures, 'tiny-llama.gguf'));
    const ref2 = await ReferenceLlama.load(join(fixtures, 'tiny-qwen2.gguf'));
    let nll = 0, kl = 0, agree = 0, n = 0;
    for (let w = 0; w < 3; w++) {
      const win = tokens.slice(w * 16, (w + 1) * 16);
      const a = ref.logits(win).map(logSoftmax), b = ref2.logits(win).map(logSoftmax);
      for (let i = 0; i < 15; i++) {
        nll -= a[i]![win[i + 1]!]!;
        kl += b[i]!.reduce((s, lq, j) => s + Math.exp(lq) * (lq - a[i]![j]!), 0);
        const arg = (r: Float64Array) => r.indexOf(Math.max(...r));
        agree += arg(a[i]!) === arg(b[i]!) ? 1 : 0;
        n++;
      }
    }
    const r = await evaluatePerplexity(model, tokens, { contextSize: 16, reference: other });
    expect(r.windows).toBe(3);
    expect(r.scoredTokens).toBe(45);
    expect(Math.abs(r.perplexity / Math.exp(nll / n) - 1)).toBeLessThan(1e-5);
    expect(Math.abs(r.kld!.mean / (kl / n) - 1)).toBeLessThan(1e-5);
    expect(r.top1).toBeCloseTo(agree / n, 10);
    expect(r.kld!.p99).toBeLessThanOrEqual(r.kld!.max);
    const self = await evaluatePerplexity(model, tokens, { contextSize: 16, reference: model, maxWindows: 1 });
    expect(self.kld!.max).toBeLessThan(1e-9);
    expect(self.top1).toBe(1);
    // Several models against one reference pass: each gets the numbers it gets alone.
    const [both, withSelf] = await evaluateModels([model, other], tokens, { contextSize: 16, reference: other, maxWindows: 2 });
    expect(both).toEqual(await evaluatePerplexity(model, tokens, { contextSize: 16, reference: other, maxWindows: 2 }));
    expect(withSelf!.kld!.max).toBeLessThan(1e-9);
  });

  it('runs through qinfer eval and qinfer run', async () => {
    // A forked test worker's IPC descriptor must not leak into the CLI's node process.
    const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...env } = process.env;
    const run = (cmd: string, args: string[]) => promisify(execFile)(cmd, args, { env });
    const model = join(fixtures, 'tiny-llama.gguf');
    const { stdout } = await run('node', [cli, 'run', model, '--prompt-tokens', '1,20,21', '-n', '6', '--json']);
    const out = JSON.parse(stdout) as { tokens: number[]; text: string };
    const direct = await loadModel(model);
    try {
      expect(out.tokens).toEqual((await direct.generate([1, 20, 21], { maxTokens: 6 }).summary).tokens);
      expect(out.text).toBe(direct.detokenize(out.tokens, { stripLeadingSpace: false }));
    } finally {
      direct.close();
    }
    const bad = await run('node', [cli, 'eval', model, '--ctx', '16']).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
  });
});
