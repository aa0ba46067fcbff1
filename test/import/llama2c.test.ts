// llama2.c legacy checkpoints: header validation, tensor offsets and names, placeholder vocabulary, typed errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { BadFileError, UnsupportedError } from '../../lib/errors.js';
import { LLAMA2C_DESCRIPTION, llama2cFileBytes, parseLlama2cHeader, planLlama2c } from '../../lib/import/llama2c.js';
import { rng, testSeed } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-l2c-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function header(values: number[]): Buffer {
  const b = Buffer.alloc(28);
  values.forEach((v, i) => b.writeInt32LE(v, i * 4));
  return b;
}

/** A checkpoint file whose every float is its own index, so offsets can be checked from the values. */
function writeCheckpoint(name: string, values: number[], extraBytes = 0): string {
  const c = parseLlama2cHeader(header(values), name);
  const floats = (llama2cFileBytes(c) - 28) / 4;
  const body = new Float32Array(floats).map((_, i) => i);
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([header(values), Buffer.from(body.buffer), Buffer.alloc(Math.max(extraBytes, 0))]).subarray(0, 28 + floats * 4 + extraBytes));
  return path;
}

describe(`llama2.c import (seed ${testSeed})`, () => {
  it('lays out tensors at the llama2.c offsets, skipping the RoPE tables', async () => {
    const next = rng();
    const heads = 2 + Math.floor(next() * 3);
    const kvHeads = [1, heads][Math.floor(next() * 2)]!;
    const dim = heads * 2 * (1 + Math.floor(next() * 4));
    const [hidden, layers, vocab, seq] = [8 + Math.floor(next() * 20), 1 + Math.floor(next() * 3), 300 + Math.floor(next() * 50), 4 + Math.floor(next() * 8)];
    for (const shared of [true, false]) {
      const path = writeCheckpoint(`m-${shared}.bin`, [dim, hidden, layers, heads, kvHeads, shared ? vocab : -vocab, seq]);
      const plan = await planLlama2c(path, 'f16');
      const kvDim = (dim / heads) * kvHeads;
      const at = new Map(plan.tensors.map((t) => [t.name, t]));
      const offsetOf = (name: string) => (at.get(name)!.source as { offset: number }).offset;
      // Walk llama2.c's order and check each tensor starts where the previous one ended.
      let o = 28;
      const expectAt = (name: string, n: number) => {
        expect(offsetOf(name), name).toBe(o);
        o += 4 * n;
      };
      expectAt('token_embd.weight', vocab * dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.attn_norm.weight`, dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.attn_q.weight`, dim * dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.attn_k.weight`, kvDim * dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.attn_v.weight`, kvDim * dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.attn_output.weight`, dim * dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.ffn_norm.weight`, dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.ffn_gate.weight`, hidden * dim);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.ffn_down.weight`, dim * hidden);
      for (let l = 0; l < layers; l++) expectAt(`blk.${l}.ffn_up.weight`, hidden * dim);
      expectAt('output_norm.weight', dim);
      o += 4 * seq * (dim / heads); // freq_cis_real + freq_cis_imag
      if (shared) expect(at.has('output.weight')).toBe(false);
      else expectAt('output.weight', vocab * dim);
      expect(at.get('blk.0.attn_k.weight')).toMatchObject({ shape: [dim, kvDim], type: 1 });
      expect(at.get('blk.0.ffn_down.weight')!.shape).toEqual([hidden, dim]);
      expect(at.get('blk.0.ffn_norm.weight')!.type).toBe(0);
      expect(plan.tensors.some((t) => 'permuteRope' in t.source)).toBe(false);
      expect(plan.tensors.length).toBe(layers * 9 + (shared ? 2 : 3));

      const meta = new Map(plan.metadata.map((k) => [k.key, k.value]));
      expect(meta.get('general.architecture')).toBe('llama');
      expect(meta.get('general.description')).toBe(LLAMA2C_DESCRIPTION);
      expect(meta.get('llama.attention.head_count_kv')).toBe(kvHeads);
      expect(meta.get('llama.context_length')).toBe(seq);
      expect(meta.get('llama.rope.dimension_count')).toBe(dim / heads);
      expect(meta.get('general.file_type')).toBe(1);
      const tokens = meta.get('tokenizer.ggml.tokens') as string[];
      expect(tokens).toHaveLength(vocab);
      expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
      expect(tokens[258]).toBe('<0xFF>');
      expect(tokens[299]).toBe('<id_299>');
    }
  });

  it('rejects truncated files, trailing data, bad headers and the newer export format', async () => {
    const values = [8, 16, 1, 2, 2, 300, 4];
    const good = writeCheckpoint('good.bin', values);
    await expect(planLlama2c(good, 'f32')).resolves.toBeTruthy();
    const truncated = writeCheckpoint('trunc.bin', values, -10);
    await expect(planLlama2c(truncated, 'f32')).rejects.toThrow(BadFileError);
    await expect(planLlama2c(truncated, 'f32')).rejects.toThrow(/is truncated: .* implies \d+ bytes, the file has \d+/);
    await expect(planLlama2c(writeCheckpoint('long.bin', values, 4), 'f32')).rejects.toThrow(/trailing data/);
    const tiny = join(dir, 'tiny.bin');
    writeFileSync(tiny, Buffer.alloc(10));
    await expect(planLlama2c(tiny, 'f32')).rejects.toThrow(/too short/);
    expect(() => parseLlama2cHeader(header([8, 16, 1, 3, 3, 300, 4]), 'x')).toThrow(/not a multiple of n_heads/);
    expect(() => parseLlama2cHeader(header([8, 16, 1, 2, 0, 300, 4]), 'x')).toThrow(/n_kv_heads = 0/);
    expect(() => parseLlama2cHeader(header([8, -16, 1, 2, 2, 300, 4]), 'x')).toThrow(/hidden_dim = -16/);
    expect(() => parseLlama2cHeader(header([8, 16, 1 << 30, 2, 2, 300, 4]), 'x')).toThrow(BadFileError);
    expect(() => parseLlama2cHeader(header([0x616b3432, 2, 0, 0, 0, 0, 0]), 'x')).toThrow(UnsupportedError);
    await expect(planLlama2c(join(dir, 'absent.bin'), 'f32')).rejects.toMatchObject({ code: 'E_IO' });
  });
});

describe('the float64 reference helper', () => {
  it('rounds to half precision like IEEE binary16 (ties to even, subnormals)', async () => {
    const { roundToF16 } = await import('../helpers/llama2c-reference.js');
    expect(roundToF16(1)).toBe(1);
    expect(roundToF16(1 + 2 ** -11)).toBe(1); // tie between 1 and 1 + 2^-10 -> even mantissa
    expect(roundToF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundToF16(-65504)).toBe(-65504);
    expect(roundToF16(0.1)).toBe(0.0999755859375);
    expect(roundToF16(2 ** -24)).toBe(2 ** -24);
    expect(roundToF16(3 * 2 ** -26)).toBe(2 ** -24);
    expect(roundToF16(0)).toBe(0);
  });
});
