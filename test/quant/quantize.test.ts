// quantize() on the tiny random Llama fixture: every method writes a loadable file, calibration-aware methods
// reduce the output error against round-to-nearest, and bad recipes, calibration and weights fail cleanly.
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InvalidArgumentError, UnsupportedError } from '../../lib/errors.js';
import { readGguf, writeGguf } from '../../lib/gguf.js';
import { loadModel } from '../../lib/model.js';
import { quantize } from '../../lib/quantize.js';
import { rng, testSeed } from '../helpers/random.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-llama.gguf');
const VOCAB = 64;
const gcide = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'models', 'gcide-llama-25m');
if (!existsSync(gcide)) console.log(`skipping the Hugging Face quantize test: ${gcide} is absent`);
console.log(`quantize tests: random tokens from seed ${testSeed} (QINFER_TEST_SEED)`);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qinfer-quantize-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomTokens(n: number, next: () => number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(next() * VOCAB));
}

// Mean KL(reference || quantized) of next-token distributions over a few random sequences.
async function meanKl(reference: string, path: string, sequences: Int32Array[]): Promise<number> {
  const ref = await loadModel(reference, { threads: 2 });
  const q = await loadModel(path, { threads: 2 });
  try {
    let sum = 0;
    let count = 0;
    for (const seq of sequences) {
      const a = await ref.evaluate(seq, { logits: 'all' });
      const b = await q.evaluate(seq, { logits: 'all' });
      for (let r = 0; r < seq.length; r++) {
        const la = a.subarray(r * VOCAB, (r + 1) * VOCAB);
        const lb = b.subarray(r * VOCAB, (r + 1) * VOCAB);
        const ma = Math.max(...la);
        const mb = Math.max(...lb);
        const za = la.reduce((s, x) => s + Math.exp(x - ma), 0);
        const zb = lb.reduce((s, x) => s + Math.exp(x - mb), 0);
        for (let i = 0; i < VOCAB; i++) {
          const pa = Math.exp(la[i]! - ma) / za;
          sum += pa * (la[i]! - ma - Math.log(za) - (lb[i]! - mb - Math.log(zb)));
        }
        count++;
      }
    }
    return sum / count;
  } finally {
    ref.close();
    q.close();
  }
}

// tiny-llama's tokenizer and hyperparameter keys with 128-wide random weights (tiny-llama's 32-wide rows are a
// single block, where GPTQ has no later columns to compensate); a few norm channels are large, as in trained models.
async function writeWideModel(path: string, next: () => number): Promise<void> {
  const DIM = 128;
  const FF = 256;
  const src = await readGguf(tiny);
  const set: Record<string, number> = { 'llama.embedding_length': DIM, 'llama.feed_forward_length': FF, 'llama.rope.dimension_count': DIM / 4 };
  const metadata = src.metadata.map((kv) => (kv.key in set ? { ...kv, value: set[kv.key]! } : kv));
  const gauss = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  const tensor = (name: string, shape: number[], scale: number, norm = false) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = norm ? (i % 17 === 3 ? 8 : 1) * (1 + 0.1 * gauss()) : scale * gauss();
    return { name, type: 0, shape, source: { kind: 'data' as const, data: new Uint8Array(data.buffer) } };
  };
  const tensors = [tensor('token_embd.weight', [DIM, VOCAB], 1)];
  for (let l = 0; l < 2; l++) {
    const p = `blk.${l}.`;
    tensors.push(tensor(`${p}attn_norm.weight`, [DIM], 0, true));
    tensors.push(tensor(`${p}attn_q.weight`, [DIM, DIM], 1 / Math.sqrt(DIM)), tensor(`${p}attn_k.weight`, [DIM, DIM / 2], 1 / Math.sqrt(DIM)));
    tensors.push(tensor(`${p}attn_v.weight`, [DIM, DIM / 2], 1 / Math.sqrt(DIM)), tensor(`${p}attn_output.weight`, [DIM, DIM], 1 / Math.sqrt(DIM)));
    tensors.push(tensor(`${p}ffn_norm.weight`, [DIM], 0, true));
    tensors.push(tensor(`${p}ffn_gate.weight`, [DIM, FF], 1 / Math.sqrt(DIM)), tensor(`${p}ffn_up.weight`, [DIM, FF], 1 / Math.sqrt(DIM)));
    tensors.push(tensor(`${p}ffn_down.weight`, [FF, DIM], 1 / Math.sqrt(FF)));
  }
  tensors.push(tensor('output_norm.weight', [DIM], 0, true), tensor('output.weight', [DIM, VOCAB], 1 / Math.sqrt(DIM)));
  await writeGguf({ path, metadata, tensors });
}

describe('quantize', () => {
  it('writes every method as a loadable GGUF with the planned types, falling back where rows do not fit', async () => {
    const next = rng();
    const calibration = { tokens: randomTokens(256, next), context: 32 };
    for (const method of ['rtn', 'imatrix', 'gptq', 'awq', 'awq+gptq']) {
      const output = join(dir, `${method}.gguf`);
      const r = await quantize({ input: tiny, output, recipe: { method, format: 'q4_0', pure: true }, calibration });
      const file = await readGguf(output);
      const types = Object.fromEntries(file.tensors.map((t) => [t.name, t.typeName]));
      expect(types['blk.0.attn_q.weight'], method).toBe('q4_0');
      expect(types['blk.0.attn_norm.weight']).toBe('f32');
      // 48 columns fit neither q4_0 nor a smaller block format: F16, as llama.cpp falls back.
      expect(types['blk.0.ffn_down.weight']).toBe('f16');
      expect(r.notes.find((n) => n.name === 'blk.0.ffn_down.weight')?.reason).toMatch(/48 columns/);
      expect(r.bytes).toBe(file.fileSize);
      expect(r.bitsPerWeight).toBeGreaterThan(4.5);
      expect(r.bitsPerWeight).toBeLessThan(8);
      expect(r.peakRssBytes).toBeGreaterThan(0);
      expect(r.calibrationTokens).toBe(method === 'rtn' ? 0 : 256);
      const m = await loadModel(output, { threads: 2 });
      const logits = await m.evaluate([1, 5, 9, 20]);
      expect(logits.every(Number.isFinite)).toBe(true);
      m.close();
    }
  });

  it('GPTQ, AWQ, AWQ+GPTQ and importance weighting lower the output error of round-to-nearest on calibration-like data', async () => {
    const next = rng(testSeed + 1);
    const wide = join(dir, 'wide.gguf');
    await writeWideModel(wide, next);
    const calibration = { tokens: randomTokens(2048, next), context: 64 };
    const evalSeqs = [randomTokens(64, next), randomTokens(64, next)];
    const kl: Record<string, number> = {};
    for (const method of ['rtn', 'imatrix', 'gptq', 'awq', 'awq+gptq']) {
      const output = join(dir, `q-${method}.gguf`);
      await quantize({ input: wide, output, recipe: { method, format: 'q4_0', pure: true }, calibration });
      kl[method] = await meanKl(wide, output, evalSeqs);
    }
    console.log('random 128-wide model, q4_0: mean KL by method', kl);
    expect(kl.imatrix).toBeLessThan(kl.rtn!);
    expect(kl.gptq).toBeLessThan(kl.rtn!);
    expect(kl.awq).toBeLessThan(kl.rtn!);
    expect(kl['awq+gptq']).toBeLessThan(kl.rtn!);
  });

  it("writes qinfer's 3- and 2-bit formats as loadable files where GPTQ beats round-to-nearest", async () => {
    const next = rng(testSeed + 2);
    const wide = join(dir, 'wide-lowbit.gguf');
    await writeWideModel(wide, next);
    const calibration = { tokens: randomTokens(2048, next), context: 64 };
    const evalSeqs = [randomTokens(64, next), randomTokens(64, next)];
    for (const format of ['q3_32', 'q2_32']) {
      const kl: Record<string, number> = {};
      for (const method of ['rtn', 'gptq']) {
        const output = join(dir, `${format}-${method}.gguf`);
        const r = await quantize({ input: wide, output, recipe: { method, format }, calibration });
        expect(r.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.type).toBe(format);
        expect(r.bitsPerWeight).toBeLessThan(format === 'q3_32' ? 3.6 : 2.6);
        kl[method] = await meanKl(wide, output, evalSeqs);
      }
      console.log(`random 128-wide model, ${format}: mean KL by method`, kl);
      expect(kl.gptq).toBeLessThan(kl.rtn!);
    }
  });

  it('applies --tensor-type overrides before the preset rules', async () => {
    const output = join(dir, 'override.gguf');
    const r = await quantize({
      input: tiny,
      output,
      recipe: { format: 'q8_0', tensorTypes: [{ pattern: 'attn_(q|k)\\.weight$', format: 'q4_1' }] },
    });
    const types = Object.fromEntries(r.tensors.map((t) => [t.name, t.type]));
    expect(types['blk.1.attn_q.weight']).toBe('q4_1');
    expect(types['blk.1.attn_k.weight']).toBe('q4_1');
    expect(types['blk.1.attn_v.weight']).toBe('q8_0');
    expect(types['output.weight']).toBe('q8_0');
  });

  it('rejects unknown methods, formats and override formats before writing anything', async () => {
    const output = join(dir, 'bad.gguf');
    await expect(quantize({ input: tiny, output, recipe: { method: 'magic', format: 'q4_0' } })).rejects.toThrow(InvalidArgumentError);
    await expect(quantize({ input: tiny, output, recipe: { method: 'rtn+gptq', format: 'q4_0' } })).rejects.toThrow(/recipe.method/);
    await expect(quantize({ input: tiny, output, recipe: { format: 'q9_z' } })).rejects.toThrow(/recipe.format/);
    await expect(quantize({ input: tiny, output, recipe: { format: 'q4_0', tensorTypes: [{ pattern: '(', format: 'q4_0' }] } })).rejects.toThrow(/pattern/);
    await expect(quantize({ input: tiny, output, recipe: { format: 'q4_0', tensorTypes: [{ pattern: 'x', format: 'q9' }] } })).rejects.toThrow(/format/);
    expect(await readdir(dir)).not.toContain('bad.gguf');
  });

  it('needs at least one calibration window for calibration-aware methods', async () => {
    const output = join(dir, 'cal.gguf');
    await expect(quantize({ input: tiny, output, recipe: { method: 'gptq', format: 'q4_0' } })).rejects.toThrow(/calibration/);
    await expect(
      quantize({ input: tiny, output, recipe: { method: 'imatrix', format: 'q4_0' }, calibration: { tokens: new Int32Array(0), context: 32 } }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      quantize({ input: tiny, output, recipe: { method: 'awq', format: 'q4_0' }, calibration: { tokens: new Int32Array(31), context: 32 } }),
    ).rejects.toThrow(/at least one window of 32 tokens/);
    await expect(
      quantize({ input: tiny, output, recipe: { method: 'gptq', format: 'q4_0' }, calibration: { tokens: new Int32Array(64).fill(999), context: 32 } }),
    ).rejects.toThrow(/outside the vocabulary/);
    expect(await readdir(dir)).not.toContain('cal.gguf');
  });

  it('refuses non-finite weights with the tensor named and leaves no output', async () => {
    const file = await readGguf(tiny);
    const t = file.tensors.find((x) => x.name === 'blk.1.ffn_up.weight')!;
    const poisoned = join(dir, 'nan-source.gguf');
    await copyFile(tiny, poisoned);
    const fh = await open(poisoned, 'r+');
    await fh.write(Buffer.from(new Float32Array([Number.NaN]).buffer), 0, 4, t.offset + 4 * 37);
    await fh.close();
    const output = join(dir, 'nan.gguf');
    for (const method of ['rtn', 'gptq']) {
      await expect(
        quantize({ input: poisoned, output, recipe: { method, format: 'q4_0' }, calibration: { tokens: randomTokens(64, rng()), context: 32 } }),
      ).rejects.toThrow(/blk\.1\.ffn_up\.weight.*non-finite/);
    }
    expect(await readdir(dir)).not.toContain('nan.gguf');
  });

  it('refuses to requantize an already quantized model', async () => {
    const q = join(dir, 'once.gguf');
    await quantize({ input: tiny, output: q, recipe: { format: 'q8_0' } });
    await expect(quantize({ input: q, output: join(dir, 'twice.gguf'), recipe: { format: 'q4_0' } })).rejects.toThrow(UnsupportedError);
  });

  it.skipIf(!existsSync(gcide))('quantizes a Hugging Face folder with text calibration through its tokenizer', async () => {
    const text = join(dir, 'cal.txt');
    await writeFile(text, 'Quick (a.) Moving with speed; rapid in motion; fleet; swift. '.repeat(20));
    const output = join(dir, 'gcide.gguf');
    // Only layer 0 is quantized (importance-weighted searches over 25M weights take minutes on 2 busy cores).
    const tensorTypes = [
      { pattern: '^blk\\.0\\.', format: 'q4_0' },
      { pattern: '.', format: 'f16' },
    ];
    const r = await quantize({ input: gcide, output, recipe: { method: 'imatrix', format: 'q4_0', tensorTypes }, calibration: { file: text, context: 64 } });
    expect(r.calibrationTokens).toBeGreaterThanOrEqual(64);
    expect(r.calibrationTokens % 64).toBe(0);
    expect(r.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type).toBe('q4_0');
    expect(r.tensors.find((t) => t.name === 'blk.1.attn_q.weight')?.type).toBe('f16');
    expect((await readdir(dir)).filter((f) => f.includes('.source-'))).toEqual([]);
  }, 180_000);
});
