// quantize() with method w8a8-dynamic: the file layout (int8 matrices plus "<name>.scale"), option errors, and the
// quality on gcide-llama-25m (mean KL divergence against the unquantized model on its validation tokens).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evaluatePerplexity } from '../../lib/eval.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { readGguf } from '../../lib/gguf.js';
import { loadModel } from '../../lib/model.js';
import { quantize } from '../../lib/quantize.js';
import { readTokenFile } from '../../lib/token-file.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-llama.gguf');
const gcide = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'models', 'gcide-llama-25m');
if (!existsSync(gcide)) console.log(`skipping the W8A8 quality test: ${gcide} is absent`);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qinfer-w8a8-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('W8A8 dynamic quantization', () => {
  it('writes every matrix but the token embedding as w8a8 with an F32 scale per row', async () => {
    const output = join(dir, 'tiny-w8a8.gguf');
    const r = await quantize({ input: tiny, output, recipe: { method: 'w8a8-dynamic' } });
    expect(r.format).toBe('w8a8');
    const src = await readGguf(tiny);
    const out = await readGguf(output);
    const byName = new Map(out.tensors.map((t) => [t.name, t]));
    let matrices = 0;
    for (const t of src.tensors) {
      const o = byName.get(t.name)!;
      if (t.shape.length === 2 && t.name !== 'token_embd.weight') {
        matrices++;
        expect(o.typeName, t.name).toBe('w8a8');
        expect(o.bytes).toBe(t.shape[0]! * t.shape[1]!);
        const s = byName.get(`${t.name}.scale`)!;
        expect(s.typeName).toBe('f32');
        expect(s.shape).toEqual([t.shape[1]]);
      } else {
        expect(o.type, t.name).toBe(t.type);
      }
    }
    expect(matrices).toBeGreaterThan(0);
    expect(out.tensors.length).toBe(src.tensors.length + matrices);
    const m = await loadModel(output, { threads: 2 });
    try {
      const logits = await m.evaluate([1, 5, 9, 20]);
      expect(logits.every(Number.isFinite)).toBe(true);
    } finally {
      m.close();
    }
  });

  it('rejects combinations and formats other than w8a8', async () => {
    const output = join(dir, 'bad.gguf');
    await expect(quantize({ input: tiny, output, recipe: { method: 'w8a8-dynamic+gptq', format: 'w8a8' } })).rejects.toThrow(InvalidArgumentError);
    await expect(quantize({ input: tiny, output, recipe: { method: 'w8a8-dynamic', format: 'q4_0' } })).rejects.toThrow(/format 'w8a8'/);
    await expect(quantize({ input: tiny, output, recipe: { method: 'rtn', format: 'w8a8' } })).rejects.toThrow(/w8a8-dynamic/);
    expect(existsSync(output)).toBe(false);
  });

  it.skipIf(!existsSync(gcide))('keeps gcide-llama-25m within KL 0.01 of the unquantized model', async () => {
    const reference = join(dir, 'gcide.gguf');
    const output = join(dir, 'gcide-w8a8.gguf');
    await quantize({ input: gcide, output: reference, recipe: { format: 'bf16' } });
    await quantize({ input: reference, output, recipe: { method: 'w8a8-dynamic' } });
    const tokens = await readTokenFile(join(gcide, 'val_tokens.npy'));
    const ref = await loadModel(reference, { threads: 2 });
    const q = await loadModel(output, { threads: 2 });
    try {
      const r = await evaluatePerplexity(q, tokens, { contextSize: 128, maxWindows: 4, reference: ref });
      expect(r.kld!.mean).toBeLessThan(0.01);
      expect(r.top1!).toBeGreaterThan(0.9);
    } finally {
      q.close();
      ref.close();
    }
  }, 120_000);
});
