#!/usr/bin/env node
// Writes a random-weight Llama GGUF of a published shape in Q4_0, Q8_0 or F16 with qinfer's own writer, fast enough
// to run on the GPU machine (random block bytes with a sane scale per block; no float weights are quantized).
//   node scripts/gen-random-gguf.mjs <out.gguf> <q4_0|q8_0|f16> [tinyllama|llama3-8b|small]
import { randomFillSync } from 'node:crypto';

import { writeGguf } from '../dist/index.js';

const SHAPES = {
  // dim, layers, heads, kv heads, ffn, vocab
  tinyllama: [2048, 22, 32, 4, 5632, 32000],
  'llama3-8b': [4096, 32, 32, 8, 14336, 32000],
  small: [256, 4, 4, 2, 768, 512],  // head size 64 (as TinyLlama's): the CUDA prefill attention kernel's
};
const FORMATS = { q4_0: { id: 2, block: 32, bytes: 18, q: 4.6 }, q8_0: { id: 8, block: 32, bytes: 34, q: 74 }, f16: { id: 1, block: 1, bytes: 2 } };

const [out, typeName, shapeName = 'tinyllama'] = process.argv.slice(2);
const fmt = FORMATS[typeName], shape = SHAPES[shapeName];
if (!out || !fmt || !shape) {
  console.error('usage: gen-random-gguf.mjs <out.gguf> <q4_0|q8_0|f16> [tinyllama|llama3-8b|small]');
  process.exit(2);
}
const [dim, layers, heads, kvHeads, ffn, vocab] = shape;

// IEEE half of a positive normal float (round to nearest is not needed for a scale).
function half(x) {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  return ((((u >>> 23) & 0xff) - 127 + 15) << 10) | ((u >>> 13) & 0x3ff);
}

// Weights of standard deviation ~1/sqrt(cols): random quant codes, every block's scale set to match.
function matrix(name, cols, rows) {
  const n = (cols / fmt.block) * rows, data = new Uint8Array(n * fmt.bytes);
  for (let at = 0; at < data.length; at += 1 << 30) randomFillSync(data, at, Math.min(1 << 30, data.length - at));
  const scale = half(1 / Math.sqrt(cols) / (fmt.q ?? 1));
  if (fmt.q) for (let b = 0; b < n; b++) (data[b * fmt.bytes] = scale & 0xff), (data[b * fmt.bytes + 1] = scale >> 8);
  else for (let i = 0; i < data.length; i += 2) (data[i] = scale & 0xff), (data[i + 1] = (scale >> 8) ^ (data[i + 1] & 0x80));
  return { name, type: fmt.id, shape: [cols, rows], source: { kind: 'data', data } };
}
const norm = (name) => ({ name, type: 0, shape: [dim], source: { kind: 'data', data: new Uint8Array(new Float32Array(dim).fill(1).buffer) } });

const headDim = dim / heads;
const tensors = [matrix('token_embd.weight', dim, vocab)];
for (let l = 0; l < layers; l++) {
  const p = `blk.${l}.`;
  tensors.push(norm(`${p}attn_norm.weight`), matrix(`${p}attn_q.weight`, dim, dim), matrix(`${p}attn_k.weight`, dim, kvHeads * headDim));
  tensors.push(matrix(`${p}attn_v.weight`, dim, kvHeads * headDim), matrix(`${p}attn_output.weight`, dim, dim), norm(`${p}ffn_norm.weight`));
  tensors.push(matrix(`${p}ffn_gate.weight`, dim, ffn), matrix(`${p}ffn_up.weight`, dim, ffn), matrix(`${p}ffn_down.weight`, ffn, dim));
}
tensors.push(norm('output_norm.weight'), matrix('output.weight', dim, vocab));
const u32 = (key, value) => ({ key, type: 'u32', value });
const metadata = [
  { key: 'general.architecture', type: 'string', value: 'llama' },
  { key: 'general.name', type: 'string', value: `random-${shapeName}-${typeName}` },
  u32('llama.context_length', 4096),
  u32('llama.embedding_length', dim),
  u32('llama.block_count', layers),
  u32('llama.feed_forward_length', ffn),
  u32('llama.rope.dimension_count', headDim),
  u32('llama.attention.head_count', heads),
  u32('llama.attention.head_count_kv', kvHeads),
  { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-5 },
  u32('llama.vocab_size', vocab),
  // A placeholder SentencePiece vocabulary (control tokens, the 256 byte tokens llama.cpp looks up, then plain names)
  // so that llama.cpp loads the same file for the side-by-side benchmarks; qinfer's benchmarks take no text.
  { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
  {
    key: 'tokenizer.ggml.tokens', type: 'array', arrayType: 'string',
    value: Array.from({ length: vocab }, (_, i) =>
      i < 3 ? ['<unk>', '<s>', '</s>'][i] : i < 259 ? `<0x${(i - 3).toString(16).toUpperCase().padStart(2, '0')}>` : `t${i}`),
  },
  { key: 'tokenizer.ggml.scores', type: 'array', arrayType: 'f32', value: new Float32Array(vocab) },
  {
    key: 'tokenizer.ggml.token_type', type: 'array', arrayType: 'i32',
    value: Int32Array.from({ length: vocab }, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)),
  },
  u32('tokenizer.ggml.bos_token_id', 1),
  u32('tokenizer.ggml.eos_token_id', 2),
];
const { bytes } = await writeGguf({ path: out, metadata, tensors });
console.log(`${out}: ${shapeName} ${typeName}, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
