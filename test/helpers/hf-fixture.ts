// Generated Hugging Face model folders for import tests: config.json, random weights in safetensors (single or sharded), a byte-level BPE tokenizer.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { randomF32 } from './random.js';

export interface HfTestConfig {
  architectures: string[];
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  num_hidden_layers: number;
  vocab_size: number;
  tie_word_embeddings: boolean;
  [key: string]: unknown;
}

export type HfWeights = Map<string, { shape: number[]; data: Float32Array }>;

/** Writes a safetensors file (all tensors in one dtype; the data is written as given). */
export function writeSafetensors(path: string, tensors: [string, number[], Float32Array][], dtype = 'F32'): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...tensors.map(([, , d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]));
}

/** Random weights (HF names, PyTorch shapes): matrices uniform in ±scale, norms around 1, biases when asked. */
export function randomHfWeights(c: HfTestConfig, next: () => number, opts: { biases?: boolean; scale?: number } = {}): HfWeights {
  const h = c.hidden_size;
  const hd = (c.head_dim as number | undefined) ?? h / c.num_attention_heads;
  const q = c.num_attention_heads * hd;
  const kv = c.num_key_value_heads * hd;
  const scale = opts.scale ?? 0.2;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [c.vocab_size, h]], ['model.norm.weight', [h]]];
  if (!c.tie_word_embeddings) shapes.push(['lm_head.weight', [c.vocab_size, h]]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [h]],
      [`${p}self_attn.q_proj.weight`, [q, h]],
      [`${p}self_attn.k_proj.weight`, [kv, h]],
      [`${p}self_attn.v_proj.weight`, [kv, h]],
      [`${p}self_attn.o_proj.weight`, [h, q]],
      [`${p}post_attention_layernorm.weight`, [h]],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, h]],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, h]],
      [`${p}mlp.down_proj.weight`, [h, c.intermediate_size]],
    );
    if (opts.biases) shapes.push([`${p}self_attn.q_proj.bias`, [q]], [`${p}self_attn.k_proj.bias`, [kv]], [`${p}self_attn.v_proj.bias`, [kv]]);
  }
  const weights: HfWeights = new Map();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = name.endsWith('norm.weight') ? randomF32(n, next, 0.2).map((x) => 1 + x) : randomF32(n, next, scale);
    weights.set(name, { shape, data });
  }
  return weights;
}

/** GPT-2's byte -> printable character table (the byte-level BPE alphabet). */
export function byteLevelAlphabet(): string[] {
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(direct(b) ? b : 256 + extra++));
}

/** A byte-level BPE tokenizer.json: ids 0-255 the byte alphabet, then <|begin|>, <|end|> and one merge. */
export function byteLevelTokenizerJson() {
  const vocab: Record<string, number> = {};
  byteLevelAlphabet().forEach((ch, id) => (vocab[ch] = id));
  vocab['Ġt'] = 256;
  return {
    added_tokens: [
      { id: 257, content: '<|begin|>', special: true },
      { id: 258, content: '<|end|>', special: true },
    ],
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab, merges: [['Ġ', 't']] },
  };
}

/** Writes a model folder; `shards` > 1 splits the weights over files with an index. */
export function writeHfFolder(dir: string, config: HfTestConfig, weights: HfWeights, opts: { shards?: number; tokenizerConfig?: object } = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(opts.tokenizerConfig ?? { bos_token: '<|begin|>', eos_token: '<|end|>' }));
  const list = [...weights].map(([n, w]) => [n, w.shape, w.data] as [string, number[], Float32Array]);
  const shards = opts.shards ?? 1;
  if (shards === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), list);
    return;
  }
  const map: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = list.filter((_, i) => i % shards === s);
    writeSafetensors(join(dir, file), part);
    for (const [n] of part) map[n] = file;
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
}
