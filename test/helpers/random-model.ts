// Writes a small random-weight Llama GGUF (tiny-llama's vocabulary and keys, wider layers) with its matrices in a given format.
import { join } from 'node:path';

import { native } from '../../lib/binding.js';
import { type GgufKV, readGguf, writeGguf } from '../../lib/gguf.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-llama.gguf');
export const RANDOM_MODEL_VOCAB = 64;

/**
 * YaRN keys as llama.cpp's converter writes them: factor 4 over an original context of 1024 positions, so with
 * 32 rotated dimensions (base 10000) the correction range is pairs 2..9 (2.83 and 8.85 before rounding): pairs
 * 0-2 keep their trained frequencies, 3-8 are blended, 9-15 interpolated; and cos/sin grow by 0.1 ln 4 + 1.
 */
export const YARN_METADATA: GgufKV[] = [
  { key: 'llama.context_length', type: 'u32', value: 4096 },
  { key: 'llama.rope.scaling.type', type: 'string', value: 'yarn' },
  { key: 'llama.rope.scaling.factor', type: 'f32', value: 4 },
  { key: 'llama.rope.scaling.original_context_length', type: 'u32', value: 1024 },
];

/**
 * dim 128 (4 heads of 32, 2 KV heads), FFN 256, 2 layers: every width a whole number of 32-element blocks.
 * `extra` metadata replaces keys of the same name or is appended. `dim` 256 (heads of 64, FFN 512) gives every
 * product whole 256-column groups (CUDA's fused decode kernels take those).
 */
export async function writeRandomLlama(path: string, type: number, next: () => number, extra: GgufKV[] = [], dim = 128): Promise<void> {
  const DIM = dim, FF = 2 * dim;
  const src = await readGguf(tiny);
  const set: Record<string, number> = { 'llama.embedding_length': DIM, 'llama.feed_forward_length': FF, 'llama.rope.dimension_count': DIM / 4 };
  const replaced = new Set(extra.map((kv) => kv.key));
  const metadata = [...src.metadata.filter((kv) => !replaced.has(kv.key)).map((kv) => (kv.key in set ? { ...kv, value: set[kv.key]! } : kv)), ...extra];
  const gauss = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  const tensor = (name: string, shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => (scale === 0 ? 1 + 0.1 * gauss() : scale * gauss()));
    const matrix = shape.length === 2;
    const bytes = matrix && type !== 0 ? native().quantizeRows(type, data, shape[0]!) : new Uint8Array(data.buffer);
    return { name, type: matrix ? type : 0, shape, source: { kind: 'data' as const, data: bytes } };
  };
  const tensors = [tensor('token_embd.weight', [DIM, RANDOM_MODEL_VOCAB], 1)];
  for (let l = 0; l < 2; l++) {
    const p = `blk.${l}.`;
    tensors.push(tensor(`${p}attn_norm.weight`, [DIM], 0), tensor(`${p}ffn_norm.weight`, [DIM], 0));
    tensors.push(tensor(`${p}attn_q.weight`, [DIM, DIM], 1 / Math.sqrt(DIM)), tensor(`${p}attn_k.weight`, [DIM, DIM / 2], 1 / Math.sqrt(DIM)));
    tensors.push(tensor(`${p}attn_v.weight`, [DIM, DIM / 2], 1 / Math.sqrt(DIM)), tensor(`${p}attn_output.weight`, [DIM, DIM], 1 / Math.sqrt(DIM)));
    tensors.push(tensor(`${p}ffn_gate.weight`, [DIM, FF], 1 / Math.sqrt(DIM)), tensor(`${p}ffn_up.weight`, [DIM, FF], 1 / Math.sqrt(DIM)));
    tensors.push(tensor(`${p}ffn_down.weight`, [FF, DIM], 1 / Math.sqrt(FF)));
  }
  tensors.push(tensor('output_norm.weight', [DIM], 0), tensor('output.weight', [DIM, RANDOM_MODEL_VOCAB], 3 / Math.sqrt(DIM)));
  await writeGguf({ path, metadata, tensors });
}
