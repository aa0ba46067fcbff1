// Random-weight Llama GGUFs of TinyLlama-1.1B's structure (or smaller), for the llama.cpp cross-check:
// weights N(0, std) from a seeded generator, norms 1, llama.cpp's tensor names and keys, the tokenizer
// of a vocabulary GGUF, each matrix stored in the asked type by qinfer's round-to-nearest quantizers
// (bit-identical to llama.cpp's gguf-py, test/quant/gguf-py-vectors.test.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { native } from '../../dist/binding.js';
import { readGguf, writeGguf } from '../../dist/gguf.js';
import { seededUniform } from '../seeded-random.mjs';

export const SHAPES = {
  // TinyLlama-1.1B: 22 layers, 32 heads of 64, 4 KV heads, FFN 5632.
  tinyllama: { dim: 2048, layers: 22, heads: 32, kvHeads: 4, ffn: 5632 },
  // The same structure (head size 64, 8 query heads per KV head, FFN 2.75x) at a size CI can run.
  small: { dim: 512, layers: 2, heads: 8, kvHeads: 1, ffn: 1408 },
};

export const TYPES = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 };

/** Tokenizer metadata of a vocabulary GGUF (plain or .gz). */
async function vocabularyOf(path) {
  let file = path;
  let dir;
  if (path.endsWith('.gz')) {
    dir = mkdtempSync(join(tmpdir(), 'qinfer-vocab-'));
    file = join(dir, 'vocab.gguf');
    writeFileSync(file, gunzipSync(readFileSync(path)));
  }
  try {
    const g = await readGguf(file);
    return g.metadata.filter((kv) => kv.key.startsWith('tokenizer.'));
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function normals(n, seed, std) {
  const next = seededUniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next())) * std, a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * Writes one random model; the same seed gives the same weights in every type. `metadata` (GGUF key/values)
 * replaces keys of the same name or is added (e.g. RoPE scaling).
 */
export async function writeRandomLlama({ path, type, shape, vocabGguf, seed = 1234, std = 0.02, metadata: extra = [] }) {
  const { dim, layers, heads, kvHeads, ffn } = shape;
  const tokenizer = await vocabularyOf(vocabGguf);
  const tokens = tokenizer.find((kv) => kv.key === 'tokenizer.ggml.tokens').value;
  const vocab = tokens.length, hd = dim / heads;
  const u32 = (key, value) => ({ key, type: 'u32', value });
  const metadata = [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'general.name', type: 'string', value: `random-llama-${dim}x${layers}-${type}` },
    u32('general.file_type', { f32: 0, f16: 1, q4_0: 2, q8_0: 7 }[type]),
    u32('llama.context_length', 2048),
    u32('llama.embedding_length', dim),
    u32('llama.block_count', layers),
    u32('llama.feed_forward_length', ffn),
    u32('llama.rope.dimension_count', hd),
    { key: 'llama.rope.freq_base', type: 'f32', value: 10000 },
    u32('llama.attention.head_count', heads),
    u32('llama.attention.head_count_kv', kvHeads),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-5 },
    ...tokenizer,
  ];
  const plan = [['token_embd.weight', [dim, vocab]]];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    plan.push([p + 'attn_norm.weight', [dim]], [p + 'attn_q.weight', [dim, heads * hd]], [p + 'attn_k.weight', [dim, kvHeads * hd]],
      [p + 'attn_v.weight', [dim, kvHeads * hd]], [p + 'attn_output.weight', [heads * hd, dim]], [p + 'ffn_norm.weight', [dim]],
      [p + 'ffn_gate.weight', [dim, ffn]], [p + 'ffn_up.weight', [dim, ffn]], [p + 'ffn_down.weight', [ffn, dim]]);
  }
  plan.push(['output_norm.weight', [dim]], ['output.weight', [dim, vocab]]);
  const b = native();
  const tensors = plan.map(([name, ne], index) => {
    const n = ne.reduce((a, c) => a * c, 1);
    if (ne.length === 1) return { name, type: 0, shape: ne, source: { kind: 'data', data: new Uint8Array(new Float32Array(n).fill(1).buffer) } };
    const w = normals(n, seed * 1000 + index, std);
    const t = TYPES[type];
    const data = t === 0 ? new Uint8Array(w.buffer) : b.quantizeRows(t, w, ne[0]);
    return { name, type: t, shape: ne, source: { kind: 'data', data } };
  });
  const replaced = new Set(extra.map((kv) => kv.key));
  await writeGguf({ path, metadata: [...metadata.filter((kv) => !replaced.has(kv.key)), ...extra], tensors });
  return path;
}
