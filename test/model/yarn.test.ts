// YaRN RoPE scaling: the GGUF keys llama.cpp stores (parsed with its defaults, bad values refused with typed
// errors), and a random-weight model with YaRN metadata on the CPU backend, at every kernel level, against the
// float64 reference forward pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BadFileError, UnsupportedError } from '../../lib/errors.js';
import { type GgufFile, type GgufKV, readGguf } from '../../lib/gguf.js';
import { loadModel } from '../../lib/model.js';
import { llamaHparams } from '../../lib/model-spec.js';
import { runnableLevels } from '../kernels/isa-levels.js';
import { ReferenceLlama, yarnCorrDims } from '../helpers/llama-reference.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';
import { RANDOM_MODEL_VOCAB, YARN_METADATA, writeRandomLlama } from '../helpers/random-model.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-yarn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, 'random-yarn-f32.gguf');
let file: GgufFile;
beforeAll(async () => {
  await writeRandomLlama(path, 0, rng(testSeed + 5), YARN_METADATA);
  file = await readGguf(path);
});

const f32 = (key: string, value: number): GgufKV => ({ key, type: 'f32', value });
/** The file's metadata with `set` replacing or adding keys and `drop` removing them. */
function edited(set: GgufKV[], drop: string[] = []): GgufFile {
  const gone = new Set([...drop, ...set.map((kv) => kv.key)]);
  return { ...file, metadata: [...file.metadata.filter((kv) => !gone.has(kv.key)), ...set] };
}

describe('YaRN metadata', () => {
  it("reads llama.cpp's keys with llama.cpp's defaults", () => {
    const hp = llamaHparams(file);
    expect(hp.ropeFreqScale).toBe(1 / 4);
    expect(hp.ropeExtFactor).toBe(1);
    expect(hp.ropeAttnFactor).toBeCloseTo(0.1 * Math.log(4) + 1, 12);
    expect([hp.ropeYarnBetaFast, hp.ropeYarnBetaSlow, hp.ropeYarnOrigCtx]).toEqual([32, 1, 1024]);
    expect(yarnCorrDims(hp)).toEqual([2, 9]);

    // No original_context_length: llama.cpp falls back to context_length.
    expect(llamaHparams(edited([], ['llama.rope.scaling.original_context_length'])).ropeYarnOrigCtx).toBe(4096);
    // Stored YaRN values are honoured; rope.scaling.attn_factor multiplies the magnitude.
    const custom = llamaHparams(
      edited([
        f32('llama.rope.scaling.yarn_beta_fast', 16),
        f32('llama.rope.scaling.yarn_beta_slow', 2),
        f32('llama.rope.scaling.yarn_ext_factor', 0.5),
        f32('llama.rope.scaling.attn_factor', 2),
      ]),
    );
    expect([custom.ropeYarnBetaFast, custom.ropeYarnBetaSlow, custom.ropeExtFactor]).toEqual([16, 2, 0.5]);
    expect(custom.ropeAttnFactor).toBeCloseTo(2 * (0.1 * Math.log(4) + 1), 12);
    // transformers' attention_factor (yarn_attn_factor) replaces 0.1 ln(s) + 1.
    expect(llamaHparams(edited([f32('llama.rope.scaling.yarn_attn_factor', 1.25)])).ropeAttnFactor).toBeCloseTo(1.25, 6);
    // A factor of at most 1 leaves the magnitude at 1 (llama.cpp's get_mscale).
    expect(llamaHparams(edited([f32('llama.rope.scaling.factor', 1)])).ropeAttnFactor).toBe(1);
    // Without YaRN nothing changes.
    const plain = llamaHparams(edited([], ['llama.rope.scaling.type', 'llama.rope.scaling.factor', 'llama.rope.scaling.original_context_length']));
    expect([plain.ropeFreqScale, plain.ropeExtFactor, plain.ropeAttnFactor, plain.ropeYarnOrigCtx]).toEqual([1, 0, 1, 0]);
    const linear = llamaHparams(edited([{ key: 'llama.rope.scaling.type', type: 'string', value: 'linear' }]));
    expect([linear.ropeFreqScale, linear.ropeExtFactor, linear.ropeAttnFactor]).toEqual([0.25, 0, 1]);
    // As in llama.cpp: no type means linear, and the older rope.scale_linear key gives the factor.
    expect(llamaHparams(edited([], ['llama.rope.scaling.type'])).ropeFreqScale).toBe(0.25);
    const old = edited([f32('llama.rope.scale_linear', 2)], ['llama.rope.scaling.factor']);
    expect([llamaHparams(old).ropeFreqScale, llamaHparams(old).ropeAttnFactor]).toEqual([0.5, 0.1 * Math.log(2) + 1]);
    expect(llamaHparams(edited([{ key: 'llama.rope.scaling.type', type: 'string', value: 'none' }])).ropeFreqScale).toBe(1);
  });

  it('refuses bad YaRN metadata with typed errors', () => {
    const bad = (f: GgufFile, cls: typeof BadFileError | typeof UnsupportedError, message: RegExp) => {
      expect(() => llamaHparams(f)).toThrow(cls);
      expect(() => llamaHparams(f)).toThrow(message);
    };
    bad(edited([f32('llama.rope.scaling.factor', 0)]), BadFileError, /factor .* = 0 must be positive/);
    bad(edited([f32('llama.rope.scaling.factor', -2)]), BadFileError, /factor = -2 must not be negative/);
    bad(edited([], ['llama.rope.scaling.factor']), BadFileError, /needs llama\.rope\.scaling\.factor/);
    bad(edited([], ['llama.rope.scaling.original_context_length', 'llama.context_length']), BadFileError, /original context length/);
    bad(edited([f32('llama.rope.scaling.yarn_beta_fast', 0)]), BadFileError, /yarn_beta_fast = 0 must be positive/);
    bad(edited([f32('llama.rope.scaling.yarn_ext_factor', -1)]), BadFileError, /must not be negative/);
    bad(edited([f32('llama.rope.scaling.attn_factor', 0)]), BadFileError, /attn_factor = 0 must be positive/);
    bad(edited([{ key: 'llama.rope.scaling.original_context_length', type: 'u32', value: 0 }]), BadFileError, /not a positive integer/);
    bad(edited([f32('llama.rope.scaling.yarn_log_multiplier', 0.1)]), UnsupportedError, /yarn_log_multiplier/);
    bad(edited([{ key: 'llama.rope.scaling.type', type: 'string', value: 'longrope' }]), UnsupportedError, /"longrope" is not supported/);
  });
});

const rows = (flat: Float32Array, n: number) => Array.from({ length: flat.length / n }, (_, i) => flat.subarray(i * n, (i + 1) * n));

describe(`a random YaRN model on the CPU backend (seed ${testSeed})`, () => {
  for (const level of runnableLevels) {
    it(`${level}: logits of 48 positions within 1e-5 of the float64 reference; the prompt and one-token steps agree`, async () => {
      // The kernels are picked when the model is loaded.
      const saved = process.env.QINFER_CPU_ISA;
      process.env.QINFER_CPU_ISA = level;
      const model = await loadModel(path, { kvCacheType: 'f32', contextSize: 64, threads: 2 }).finally(() => {
        if (saved === undefined) delete process.env.QINFER_CPU_ISA;
        else process.env.QINFER_CPU_ISA = saved;
      });
      try {
        const next = rng(testSeed + 6);
        const tokens = Array.from({ length: 48 }, () => 3 + Math.floor(next() * (RANDOM_MODEL_VOCAB - 3)));
        const ref = await ReferenceLlama.load(path);
        const want = ref.logits(tokens);
        const got = rows(await model.evaluate(tokens, { logits: 'all' }), RANDOM_MODEL_VOCAB);
        got.forEach((r, i) => expect(normalizedError(r, want[i]!), `position ${i}`).toBeLessThan(1e-5));
        const worst = Math.max(...got.map((r, i) => normalizedError(r, want[i]!)));
        // One more token on the cached prompt.
        const last = await model.evaluate([...tokens, 5]);
        expect(normalizedError(last, ref.logits([...tokens, 5])[48]!)).toBeLessThan(1e-5);
        // YaRN matters here: without it (plain RoPE, or linear scaling by the same factor) the logits move by far more.
        const without = [{ ropeExtFactor: 0, ropeAttnFactor: 1, ropeFreqScale: 1 }, { ropeExtFactor: 0, ropeAttnFactor: 1, ropeFreqScale: 1 / 4 }].map((hp) => {
          Object.assign(ref.hp, hp);
          const off = ref.logits(tokens);
          return Math.max(...got.map((r, i) => normalizedError(r, off[i]!)));
        });
        console.log(`${level}: worst logit error ${worst.toExponential(2)} of the largest; without YaRN ${without.map((e) => e.toExponential(2)).join(', linear ')}`);
        for (const e of without) expect(e).toBeGreaterThan(1e-2);
      } finally {
        model.close();
      }
    });
  }
});
