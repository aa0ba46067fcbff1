import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { GGML_TYPE } from '../../lib/ggml-types.js';
import { readGguf, writeGguf } from '../../lib/gguf.js';
import { inspectModel } from '../../lib/inspect.js';

const dir = mkdtempSync(join(tmpdir(), 'qinfer-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tiny = 'test/fixtures/gguf/tiny.gguf';
const gcide = '../shared/fixtures/models/gcide-llama-25m';

/** A safetensors file with F32 tensors of the given shapes (values = index). */
function safetensors(path: string, tensors: Record<string, number[]>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(offset)]));
}

describe('inspect', () => {
  it('describes a GGUF: tensors, totals, metadata as JSON', async () => {
    const r = await inspectModel(tiny);
    const g = await readGguf(tiny);
    expect(r).toMatchObject({ format: 'gguf', architecture: 'llama', version: 3, fileSize: g.fileSize, tokenizer: null });
    expect(r.tensors).toEqual(g.tensors.map((t) => ({ name: t.name, type: t.typeName, shape: t.shape, bytes: t.bytes })));
    expect(r.parameters).toBe(32 * 8 + 32 * 4 + 32 + 32 * 2);
    expect(r.tensorBytes).toBe(1024 + 256 + 128 + 68);
    expect(r.bitsPerWeight).toBeCloseTo((r.tensorBytes * 8) / r.parameters, 12);
    expect(r.types.q8_0).toEqual({ tensors: 1, parameters: 64, bytes: 68 });
    expect(r.hyperparameters).toEqual({ block_count: 1 });
    expect(r.metadata['test.u64']).toBe('18446744073709551614');
    expect(r.metadata['test.i64']).toBe('-4611686018427387904');
    expect(r.metadata['test.f32']).toBe(0.1);
    expect(r.metadata['test.arr_nested']).toEqual([[1, 2], [3]]);
  });

  it('summarizes big arrays and the tokenizer', async () => {
    const path = join(dir, 'vocab.gguf');
    const tokens = Array.from({ length: 100 }, (_, i) => `t${i}`);
    await writeGguf({
      path,
      metadata: [
        { key: 'general.architecture', type: 'string', value: 'llama' },
        { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
        { key: 'tokenizer.ggml.tokens', type: 'array', arrayType: 'string', value: tokens },
        { key: 'tokenizer.ggml.scores', type: 'array', arrayType: 'f32', value: new Float32Array(100).fill(0.1) },
        { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 7 },
        { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 99 },
      ],
      tensors: [{ name: 'w', type: GGML_TYPE.F16, shape: [4, 2], source: { kind: 'data', data: new Uint8Array(16) } }],
    });
    const r = await inspectModel(path);
    expect(r.metadata['tokenizer.ggml.tokens']).toEqual({ type: 'array of string', length: 100, first: tokens.slice(0, 8) });
    expect(r.metadata['tokenizer.ggml.scores']).toEqual({ type: 'array of f32', length: 100, first: Array(8).fill(0.1) });
    expect(r.tokenizer).toEqual({ model: 'llama', vocabSize: 100, bos: { id: 7, text: 't7' }, eos: { id: 99, text: 't99' }, chatTemplate: false });
    expect(r.bitsPerWeight).toBe(16);
  });

  it('describes a safetensors file and a sharded Hugging Face folder', async () => {
    const st = join(dir, 'one.safetensors');
    safetensors(st, { a: [3, 4], b: [5] }, { format: 'pt' });
    const r = await inspectModel(st);
    expect(r).toMatchObject({ format: 'safetensors', architecture: null, metadata: { format: 'pt' }, parameters: 17, tensorBytes: 68, bitsPerWeight: 32 });
    expect(r.tensors).toEqual([
      { name: 'a', type: 'F32', shape: [3, 4], bytes: 48 },
      { name: 'b', type: 'F32', shape: [5], bytes: 20 },
    ]);

    const hf = join(dir, 'hf');
    mkdirSync(hf);
    writeFileSync(join(hf, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 4, rope_scaling: { factor: 8, rope_type: 'llama3' } }));
    safetensors(join(hf, 'model-00001-of-00002.safetensors'), { 'model.embed_tokens.weight': [10, 4] });
    safetensors(join(hf, 'model-00002-of-00002.safetensors'), { 'model.norm.weight': [4] });
    writeFileSync(
      join(hf, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { 'model.embed_tokens.weight': 'model-00001-of-00002.safetensors', 'model.norm.weight': 'model-00002-of-00002.safetensors' } }),
    );
    const f = await inspectModel(hf);
    expect(f).toMatchObject({ format: 'huggingface', architecture: 'LlamaForCausalLM', parameters: 44, tokenizer: null });
    expect(f.hyperparameters).toEqual({ hidden_size: 4, 'rope_scaling.factor': 8, 'rope_scaling.rope_type': 'llama3' });
    expect(f.tensors.map((t) => [t.name, t.file])).toEqual([
      ['model.embed_tokens.weight', 'model-00001-of-00002.safetensors'],
      ['model.norm.weight', 'model-00002-of-00002.safetensors'],
    ]);
    await expect(inspectModel(dir)).rejects.toMatchObject({ code: 'E_BAD_FILE', message: expect.stringMatching(/config.json is missing/) });

    // A tokenizer the converter cannot read is reported, not fatal: the weights are still described.
    writeFileSync(join(hf, 'tokenizer.json'), JSON.stringify({ model: { type: 'Unigram', vocab: [] } }));
    const withTokenizer = await inspectModel(hf);
    expect(withTokenizer.tokenizer?.error).toMatch(/Unigram|tokenizer/i);
    expect(withTokenizer.tensors).toHaveLength(2);
  });

  it.skipIf(!existsSync(gcide))('describes the gcide Hugging Face folder with its SentencePiece tokenizer', async () => {
    const r = await inspectModel(gcide);
    expect(r).toMatchObject({ architecture: 'LlamaForCausalLM', parameters: 24877440, bitsPerWeight: 16 });
    expect(r.tokenizer).toMatchObject({ model: 'llama', vocabSize: 32000, bos: { id: 1, text: '<s>' }, eos: { id: 2, text: '</s>' } });
  });

  it('the CLI prints a table or JSON, and a one-line typed error', () => {
    const text = execFileSync(process.execPath, ['dist/cli/main.js', 'inspect', tiny], { encoding: 'utf8' });
    expect(text).toMatch(/Architecture {2}llama/);
    expect(text).toMatch(/Tensors {7}5, 480 parameters, 1\.44 KiB, 24\.60 bits per weight/);
    expect(text).toMatch(/blk\.0\.ffn_down\.weight +q8_0 +32 x 2 +68 B/);
    const json = JSON.parse(execFileSync(process.execPath, ['dist/cli/main.js', 'inspect', tiny, '--json'], { encoding: 'utf8' }));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['format', 'architecture', 'metadata', 'tensors', 'parameters', 'bitsPerWeight']));
    expect(json.tensors[3]).toEqual({ name: 'blk.0.ffn_down.weight', type: 'q8_0', shape: [32, 2], bytes: 68 });
    const bad = spawnSync(process.execPath, ['dist/cli/main.js', 'inspect', 'package.json', '--json'], { encoding: 'utf8' });
    expect(bad.status).toBe(3);
    expect(JSON.parse(bad.stdout)).toEqual({ error: { code: 'E_BAD_FILE', message: 'package.json is neither a GGUF nor a safetensors file' } });
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
