// quantize() with method w8a8-static: the file layout ("<name>.act_scale" beside each W8A8 matrix, shared by the
// matrices reading one input), that the loaded model computes with the stored scales (its logits match a
// TypeScript forward pass that quantizes activations with them, and differ from per-token quantization), option
// errors, and the quality on gcide-llama-25m.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evaluatePerplexity } from '../../lib/eval.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';
import { loadModel } from '../../lib/model.js';
import { quantize } from '../../lib/quantize.js';
import { readTokenFile } from '../../lib/token-file.js';
import { normalizedError, rng, testSeed } from '../helpers/random.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-llama.gguf');
const gcide = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'models', 'gcide-llama-25m');
const gcideText = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'text', 'gcide-train-2mb.txt');
const haveGcide = existsSync(gcide) && existsSync(gcideText);
if (!haveGcide) console.log(`skipping the W8A8 static quality test: ${gcide} or ${gcideText} is absent`);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qinfer-w8a8s-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The tensors of a GGUF file by name, as typed views of their bytes. */
async function tensorsOf(path: string) {
  const file = await readGguf(path);
  const bytes = await readFile(path);
  const copy = (offset: number, n: number) => new Uint8Array(bytes.subarray(offset, offset + n)).buffer;
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const f32 = (name: string) => new Float32Array(copy(byName.get(name)!.offset, byName.get(name)!.bytes));
  return { file, byName, f32, i8: (name: string) => new Int8Array(copy(byName.get(name)!.offset, byName.get(name)!.bytes)) };
}

type Tensors = Awaited<ReturnType<typeof tensorsOf>>;

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** y = W x for a W8A8 matrix, x quantized with the stored activation scale (static) or its own (perTokenOnly). */
function w8a8Linear(t: Tensors, name: string, x: Float64Array, perTokenOnly: boolean): Float64Array {
  const w = t.i8(name);
  const rowScale = t.f32(`${name}.scale`);
  const cols = x.length;
  let scale: number;
  if (perTokenOnly) scale = Math.fround(x.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
  else scale = t.f32(`${name}.act_scale`)[0]!;
  const inv = Math.fround(1 / scale);
  const q = x.map((v) => Math.max(-127, Math.min(127, roundHalfEven(Math.fround(v * inv)))));
  const y = new Float64Array(rowScale.length);
  for (let r = 0; r < y.length; r++) {
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += w[r * cols + c]! * q[c]!;
    y[r] = dot * rowScale[r]! * scale;
  }
  return y;
}

function rmsNorm(x: Float64Array, g: Float32Array, eps: number): Float64Array {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  const r = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * r * g[i]!);
}

/** Logits of one token at position 0, where attention returns each head's V row (RoPE rotates by 0). */
function referenceLogits(t: Tensors, token: number, perTokenOnly: boolean): Float64Array {
  const meta = (k: string) => Number(getMetadata(t.file, `llama.${k}`));
  const dim = meta('embedding_length'), layers = meta('block_count'), heads = meta('attention.head_count');
  const kvHeads = meta('attention.head_count_kv'), eps = meta('attention.layer_norm_rms_epsilon');
  const hd = dim / heads, group = heads / kvHeads;
  let x = Float64Array.from(t.f32('token_embd.weight').subarray(token * dim, (token + 1) * dim));
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`;
    const h = rmsNorm(x, t.f32(`${p}attn_norm.weight`), eps);
    const v = w8a8Linear(t, `${p}attn_v.weight`, h, perTokenOnly);
    const attn = new Float64Array(heads * hd).map((_, i) => v[Math.floor(i / hd / group) * hd + (i % hd)]!);
    const o = w8a8Linear(t, `${p}attn_output.weight`, attn, perTokenOnly);
    x = x.map((a, i) => a + o[i]!);
    const f = rmsNorm(x, t.f32(`${p}ffn_norm.weight`), eps);
    const gate = w8a8Linear(t, `${p}ffn_gate.weight`, f, perTokenOnly);
    const up = w8a8Linear(t, `${p}ffn_up.weight`, f, perTokenOnly);
    const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
    const down = w8a8Linear(t, `${p}ffn_down.weight`, act, perTokenOnly);
    x = x.map((a, i) => a + down[i]!);
  }
  return w8a8Linear(t, 'output.weight', rmsNorm(x, t.f32('output_norm.weight'), eps), perTokenOnly);
}

function randomTokens(n: number, vocab: number, next: () => number): Int32Array {
  return Int32Array.from({ length: n }, () => 1 + Math.floor(next() * (vocab - 1)));
}

describe(`W8A8 static quantization (seed ${testSeed})`, () => {
  const next = rng(testSeed);
  const calibration = { tokens: randomTokens(512, 64, next), context: 64 };

  for (const smoothAlpha of [false, 0.5] as const) {
    it(`stores per-input activation scales that the model computes with (SmoothQuant ${smoothAlpha === false ? 'off' : smoothAlpha})`, async () => {
      const output = join(dir, `tiny-static-${smoothAlpha}.gguf`);
      const r = await quantize({ input: tiny, output, recipe: { method: 'w8a8-static', activations: { calibrator: 'mse', smoothAlpha } }, calibration });
      expect(r.calibrationTokens).toBe(512);
      const t = await tensorsOf(output);
      expect(getMetadata(t.file, 'qinfer.quantization.act_calibrator')).toBe('mse');
      let matrices = 0;
      for (const info of t.file.tensors) {
        if (info.typeName !== 'w8a8') continue;
        matrices++;
        const a = t.byName.get(`${info.name}.act_scale`)!;
        expect(a.typeName, info.name).toBe('f32');
        expect(a.shape).toEqual([1]);
        expect(t.f32(a.name)[0]).toBeGreaterThan(0);
      }
      expect(matrices).toBe(2 * 7 + 1);
      // One scale per input: the matrices reading the same activations share it.
      for (const l of [0, 1]) {
        const s = (op: string) => t.f32(`blk.${l}.${op}.weight.act_scale`)[0];
        expect(s('attn_k')).toBe(s('attn_q'));
        expect(s('attn_v')).toBe(s('attn_q'));
        expect(s('ffn_up')).toBe(s('ffn_gate'));
      }

      // The KV cache in F32 so that attention returns V exactly, as the reference assumes.
      const model = await loadModel(output, { threads: 2, kvCacheType: 'f32' });
      const errors: number[] = [];
      try {
        for (let k = 0; k < 4; k++) {
          const token = 1 + Math.floor(next() * 63);
          const logits = await model.evaluate([token]);
          errors.push(normalizedError(logits, referenceLogits(t, token, false)));
          expect(normalizedError(logits, referenceLogits(t, token, true)), `token ${token}`).toBeGreaterThan(1e-3);
        }
      } finally {
        model.close();
      }
      // Float sums in another order may move a value across a rounding boundary now and then (one step of error):
      // most tokens must match to float precision.
      errors.sort((a, b) => a - b);
      expect(errors[2], errors.join(', ')).toBeLessThan(1e-5);
    });
  }

  it('rejects unknown calibrators, alphas outside [0, 1], activation options on other methods and missing calibration', async () => {
    const output = join(dir, 'bad.gguf');
    const q = (recipe: object, cal: object | null = calibration) =>
      quantize({ input: tiny, output, recipe: { method: 'w8a8-static', ...recipe }, calibration: cal ?? undefined });
    await expect(q({ activations: { calibrator: 'entropy' } })).rejects.toThrow(InvalidArgumentError);
    await expect(q({ activations: { calibrator: 'entropy' } })).rejects.toThrow(/recipe\.activations\.calibrator/);
    await expect(q({ activations: { smoothAlpha: 1.5 } })).rejects.toThrow(/from 0 to 1 for option recipe\.activations\.smoothAlpha/);
    await expect(q({ activations: { smoothAlpha: Number.NaN } })).rejects.toThrow(InvalidArgumentError);
    await expect(q({ activations: { percentile: 100.5 } })).rejects.toThrow(/recipe\.activations\.percentile/);
    await expect(q({ activations: { calibrator: 'kl', percentile: 99.9 } })).rejects.toThrow(/calibrator 'percentile'/);
    await expect(q({ method: 'w8a8-dynamic', activations: { calibrator: 'kl' } })).rejects.toThrow(/method w8a8-static/);
    await expect(q({}, null)).rejects.toThrow(/Expected calibration text or tokens/);
    await expect(q({}, { tokens: calibration.tokens.subarray(0, 10), context: 64 })).rejects.toThrow(/at least one window of 64/);
    await expect(q({ method: 'w8a8-static+gptq' })).rejects.toThrow(InvalidArgumentError);
    expect(existsSync(output)).toBe(false);
  });

  it.skipIf(!haveGcide)('keeps gcide-llama-25m within KL 0.01 of the unquantized model', async () => {
    const reference = join(dir, 'gcide.gguf');
    const output = join(dir, 'gcide-w8a8s.gguf');
    await quantize({ input: gcide, output: reference, recipe: { format: 'f32' } });
    await quantize({ input: reference, output, recipe: { method: 'w8a8-static' }, calibration: { file: gcideText } });
    const tokens = await readTokenFile(join(gcide, 'val_tokens.npy'));
    const ref = await loadModel(reference, { threads: 2 });
    const q = await loadModel(output, { threads: 2 });
    try {
      const r = await evaluatePerplexity(q, tokens, { contextSize: 128, maxWindows: 8, reference: ref });
      expect(r.kld!.mean).toBeLessThan(0.01);
      expect(r.top1!).toBeGreaterThan(0.9);
    } finally {
      q.close();
      ref.close();
    }
  }, 180_000);
});
