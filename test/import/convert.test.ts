// convert() end to end on generated models: sharded safetensors, Q/K permutation checked in the output bytes, metadata, CLI, typed errors.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { convert } from '../../lib/convert.js';
import { BadFileError, InvalidArgumentError, IoError, UnsupportedError } from '../../lib/errors.js';
import { getMetadata, readGguf } from '../../lib/gguf.js';
import { type HfTestConfig, randomHfWeights, writeHfFolder, writeSafetensors } from '../helpers/hf-fixture.js';
import { rng, testSeed } from '../helpers/random.js';

const root = mkdtempSync(join(tmpdir(), 'qinfer-convert-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cfg: HfTestConfig = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 32,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  vocab_size: 260,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

/** A model folder with random weights (two shards + index when asked). */
function makeModel(name: string, next: () => number, opts: { sharded?: boolean; config?: object } = {}) {
  const dir = join(root, name);
  const weights = randomHfWeights(cfg, next);
  writeHfFolder(dir, { ...cfg, ...opts.config }, weights, {
    shards: opts.sharded ? 2 : 1,
    tokenizerConfig: { bos_token: '<|begin|>', eos_token: '<|end|>', chat_template: '{{ bos_token }}', add_bos_token: true },
  });
  return { dir, weights };
}

describe(`convert() on generated Hugging Face models (seed ${testSeed})`, () => {
  it('converts a sharded F32 model: names, metadata, tokenizer and Q/K rows permuted per head', async () => {
    const { dir, weights } = makeModel('sharded', rng(), { sharded: true });
    const output = join(root, 'sharded.gguf');
    const r = await convert({ input: dir, output });
    expect(r).toMatchObject({ source: 'Hugging Face folder', architecture: 'llama', type: 'f32', tensors: 2 * 9 + 3 });
    const g = await readGguf(output);
    expect(getMetadata(g, 'general.architecture')).toBe('llama');
    expect(getMetadata(g, 'general.name')).toBe('sharded');
    expect(getMetadata(g, 'general.file_type')).toBe(0);
    expect(getMetadata(g, 'llama.attention.head_count_kv')).toBe(2);
    expect(getMetadata(g, 'llama.rope.dimension_count')).toBe(8);
    expect(getMetadata(g, 'tokenizer.ggml.model')).toBe('gpt2');
    expect(getMetadata(g, 'tokenizer.ggml.pre')).toBe('gpt-2');
    expect(getMetadata(g, 'tokenizer.ggml.merges')).toEqual(['Ġ t']);
    expect(getMetadata(g, 'tokenizer.ggml.bos_token_id')).toBe(257);
    expect(getMetadata(g, 'tokenizer.ggml.eos_token_id')).toBe(258);
    expect(getMetadata(g, 'tokenizer.ggml.add_bos_token')).toBe(true);
    expect(getMetadata(g, 'tokenizer.chat_template')).toBe('{{ bos_token }}');
    expect(Array.from(getMetadata(g, 'tokenizer.ggml.token_type') as Int32Array).slice(254)).toEqual([1, 1, 1, 3, 3, 5]);

    const bytes = readFileSync(output);
    const tensor = (name: string) => {
      const t = g.tensors.find((x) => x.name === name)!;
      return { ...t, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + t.bytes)) };
    };
    const hd = 8;
    for (const [hf, gguf, heads] of [
      ['model.layers.1.self_attn.q_proj.weight', 'blk.1.attn_q.weight', 4],
      ['model.layers.0.self_attn.k_proj.weight', 'blk.0.attn_k.weight', 2],
    ] as const) {
      const src = weights.get(hf)!;
      const out = tensor(gguf);
      expect(out.shape).toEqual([32, heads * hd]);
      const cols = 32;
      // GGUF row 2i of a head is HF row i, row 2i+1 is HF row i + head_dim/2 (rotate-half -> interleaved pairs).
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < hd / 2; i++) {
          for (const [dst, srcRow] of [[2 * i, i], [2 * i + 1, i + hd / 2]]) {
            const a = out.data.subarray((h * hd + dst) * cols, (h * hd + dst + 1) * cols);
            const b = src.data.subarray((h * hd + srcRow) * cols, (h * hd + srcRow + 1) * cols);
            expect(Array.from(a)).toEqual(Array.from(b));
          }
        }
      }
    }
    expect(Array.from(tensor('blk.0.attn_v.weight').data)).toEqual(Array.from(weights.get('model.layers.0.self_attn.v_proj.weight')!.data));
    expect(Array.from(tensor('output.weight').data)).toEqual(Array.from(weights.get('lm_head.weight')!.data));
  });

  it('writes F16 and BF16 with norms kept F32, and reports progress', async () => {
    const { dir } = makeModel('single', rng(testSeed + 1));
    for (const [type, id] of [['f16', 1], ['bf16', 30]] as const) {
      const seen: number[] = [];
      const r = await convert({ input: dir, output: join(root, `single-${type}.gguf`), type, onProgress: (p) => seen.push(p.tensorsDone) });
      expect(r.type).toBe(type);
      const g = await readGguf(r.output);
      expect(g.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')!.type).toBe(id);
      expect(g.tensors.find((t) => t.name === 'blk.0.ffn_norm.weight')!.type).toBe(0);
      expect(seen.at(-1)).toBe(r.tensors);
    }
  });

  it('gives typed errors naming the problem', async () => {
    const next = rng(testSeed + 2);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(convert({ input: empty, output: join(root, 'x.gguf') })).rejects.toThrow(/config\.json is missing/);
    await expect(convert({ input: join(root, 'nope'), output: join(root, 'x.gguf') })).rejects.toBeInstanceOf(IoError);

    const gptj = makeModel('gptj', next, { config: { architectures: ['GPTJForCausalLM'] } });
    await expect(convert({ input: gptj.dir, output: join(root, 'x.gguf') })).rejects.toThrow(UnsupportedError);

    const wrong = makeModel('wrong-shape', next, { config: { intermediate_size: 64 } });
    await expect(convert({ input: wrong.dir, output: join(root, 'x.gguf') })).rejects.toThrow(/mlp\.gate_proj\.weight has shape \[48, 32\] but config\.json implies \[64, 32\]/);

    const missing = makeModel('missing', next, { config: { num_hidden_layers: 3 } });
    await expect(convert({ input: missing.dir, output: join(root, 'x.gguf') })).rejects.toThrow(BadFileError);
    await expect(convert({ input: missing.dir, output: join(root, 'x.gguf') })).rejects.toThrow(/Missing tensors model\.layers\.2\./);

    const ints = makeModel('ints', next);
    writeSafetensors(join(ints.dir, 'model.safetensors'), [...ints.weights].map(([n, w]) => [n, w.shape, w.data] as [string, number[], Float32Array]), 'I32');
    await expect(convert({ input: ints.dir, output: join(root, 'x.gguf') })).rejects.toThrow(/has dtype I32/);

    const broken = makeModel('broken-index', next, { sharded: true });
    rmSync(join(broken.dir, 'model-00002-of-00002.safetensors'));
    await expect(convert({ input: broken.dir, output: join(root, 'x.gguf') })).rejects.toMatchObject({ code: expect.stringMatching(/E_IO|E_BAD_FILE/) });

    await expect(convert({ input: join(gptj.dir, 'model.safetensors'), output: join(root, 'x.gguf') })).rejects.toThrow(/safetensors file: convert its model folder/);
    await expect(convert({ input: gptj.dir, output: join(root, 'x.gguf'), type: 'q4' as never })).rejects.toThrow(InvalidArgumentError);
    await expect(convert({ input: gptj.dir, output: gptj.dir })).rejects.toThrow(InvalidArgumentError);
    const ac = new AbortController();
    ac.abort();
    await expect(convert({ input: gptj.dir, output: join(root, 'x.gguf'), signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it('qinfer convert: summary or JSON on success, one-line error and exit code on failure', async () => {
    const { dir } = makeModel('cli', rng(testSeed + 3));
    const run = promisify(execFile);
    const cli = resolve(import.meta.dirname, '../../dist/cli/main.js');
    const ok = await run(process.execPath, [cli, 'convert', dir, '-o', join(root, 'cli.gguf'), '--type', 'f16', '--json']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ architecture: 'llama', type: 'f16', tensors: 21 });
    expect(ok.stderr).toMatch(/converting 100%/);
    const bad = await run(process.execPath, [cli, 'convert', join(root, 'absent-folder'), '-o', join(root, 'y.gguf'), '--json']).catch((e) => e);
    expect(bad.code).toBe(7);
    expect(JSON.parse(bad.stdout).error.code).toBe('E_IO');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const usage = await run(process.execPath, [cli, 'convert', dir]).catch((e) => e);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/option --output/);
  });
});
