// llama2.c legacy checkpoints (7 int32 header, then fp32 tensors) -> a GGUF conversion plan with a placeholder vocabulary.
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';

import { BadFileError, IoError, UnsupportedError } from '../errors.js';
import { PIECE_TYPE } from './sentencepiece.js';
import { type ConvertPlan, FILE_TYPE, type GgufKV, type OutputType, type PlannedTensor, elements, kv, sizeLabel, storedType } from './plan.js';

export interface Llama2cConfig {
  dim: number;
  hiddenDim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** A positive vocab_size in the header: the classifier reuses the token embedding. */
  sharedClassifier: boolean;
}

const HEADER_BYTES = 28;
/** llama2.c's newer export formats (version 1 and 2) start with this magic ("ak42"). */
const EXPORT_MAGIC = 0x616b3432;
/** Bounds that keep every size computation exact in float64 and reject garbage headers early. */
const MAX_DIM = 1 << 20;

export function parseLlama2cHeader(header: Buffer, file: string): Llama2cConfig {
  if (header.length < HEADER_BYTES) throw new BadFileError(`${file}: ${header.length} bytes is too short for a llama2.c checkpoint header (28 bytes)`);
  if (header.readUInt32LE(0) === EXPORT_MAGIC) {
    throw new UnsupportedError(`${file}: llama2.c export format version ${header.readInt32LE(4)} is not supported (only the legacy checkpoint format)`);
  }
  const field = (i: number, name: string) => {
    const x = header.readInt32LE(i * 4);
    if (x === 0 || Math.abs(x) > MAX_DIM || (x < 0 && name !== 'vocab_size')) {
      throw new BadFileError(`${file}: header field ${name} = ${x} is out of range: not a llama2.c checkpoint`);
    }
    return x;
  };
  const dim = field(0, 'dim');
  const hiddenDim = field(1, 'hidden_dim');
  const layers = field(2, 'n_layers');
  const heads = field(3, 'n_heads');
  const kvHeads = field(4, 'n_kv_heads');
  const rawVocab = field(5, 'vocab_size');
  const seqLen = field(6, 'seq_len');
  if (dim % heads !== 0) throw new BadFileError(`${file}: dim ${dim} is not a multiple of n_heads ${heads}`);
  if (heads % kvHeads !== 0) throw new BadFileError(`${file}: n_heads ${heads} is not a multiple of n_kv_heads ${kvHeads}`);
  if ((dim / heads) % 2 !== 0) throw new BadFileError(`${file}: the head size ${dim / heads} must be even for RoPE`);
  return { dim, hiddenDim, layers, heads, kvHeads, vocabSize: Math.abs(rawVocab), seqLen, sharedClassifier: rawVocab > 0 };
}

/** The tensors of the file in llama2.c order: [name, PyTorch shape, per layer?]; null names are skipped (RoPE tables). */
function layout(c: Llama2cConfig): [string | null, number[], boolean][] {
  const headSize = c.dim / c.heads;
  const kvDim = c.kvHeads * headSize;
  const list: [string | null, number[], boolean][] = [
    ['token_embd.weight', [c.vocabSize, c.dim], false],
    ['attn_norm.weight', [c.dim], true],
    ['attn_q.weight', [c.dim, c.dim], true],
    ['attn_k.weight', [kvDim, c.dim], true],
    ['attn_v.weight', [kvDim, c.dim], true],
    ['attn_output.weight', [c.dim, c.dim], true],
    ['ffn_norm.weight', [c.dim], true],
    ['ffn_gate.weight', [c.hiddenDim, c.dim], true],
    ['ffn_down.weight', [c.dim, c.hiddenDim], true],
    ['ffn_up.weight', [c.hiddenDim, c.dim], true],
    ['output_norm.weight', [c.dim], false],
    [null, [c.seqLen, headSize / 2], false],
    [null, [c.seqLen, headSize / 2], false],
  ];
  if (!c.sharedClassifier) list.push(['output.weight', [c.vocabSize, c.dim], false]);
  return list;
}

export function llama2cFileBytes(c: Llama2cConfig): number {
  return layout(c).reduce((sum, [, shape, perLayer]) => sum + 4 * elements(shape) * (perLayer ? c.layers : 1), HEADER_BYTES);
}

/**
 * The placeholder vocabulary: llama2.c keeps its tokenizer in a separate file that is not part of the
 * checkpoint. llama.cpp needs a usable vocabulary to load a model, so ids 0-2 are <unk>, <s>, </s> and
 * 3-258 the byte tokens (the layout of every llama2.c SentencePiece vocabulary); the rest are "<id_N>".
 */
function placeholderVocab(n: number): GgufKV[] {
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i < 3) {
      tokens.push(['<unk>', '<s>', '</s>'][i]!);
      types.push(i === 0 ? PIECE_TYPE.UNKNOWN : PIECE_TYPE.CONTROL);
    } else if (i < 259) {
      tokens.push(`<0x${(i - 3).toString(16).toUpperCase().padStart(2, '0')}>`);
      types.push(PIECE_TYPE.BYTE);
    } else {
      tokens.push(`<id_${i}>`);
      types.push(PIECE_TYPE.NORMAL);
    }
  }
  return [
    kv.str('tokenizer.ggml.model', 'llama'),
    kv.str('tokenizer.ggml.pre', 'default'),
    kv.strings('tokenizer.ggml.tokens', tokens),
    kv.f32s('tokenizer.ggml.scores', new Array<number>(n).fill(0)),
    kv.i32s('tokenizer.ggml.token_type', types),
    kv.u32('tokenizer.ggml.bos_token_id', 1),
    kv.u32('tokenizer.ggml.eos_token_id', 2),
    kv.u32('tokenizer.ggml.unknown_token_id', 0),
  ];
}

export const LLAMA2C_DESCRIPTION =
  'Converted from a llama2.c checkpoint without its tokenizer: the vocabulary is a placeholder ' +
  '(0 <unk>, 1 <s>, 2 </s>, 3-258 bytes, then "<id_N>"), so work on token ids; text in and out is not meaningful.';

export async function planLlama2c(path: string, type: OutputType): Promise<ConvertPlan> {
  let fileSize: number;
  const header = Buffer.alloc(HEADER_BYTES);
  let read = 0;
  try {
    const fh = await open(path, 'r');
    try {
      fileSize = (await fh.stat()).size;
      read = (await fh.read(header, 0, HEADER_BYTES, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new IoError(`Cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const c = parseLlama2cHeader(header.subarray(0, read), path);
  const expected = llama2cFileBytes(c);
  if (fileSize !== expected) {
    const what = fileSize < expected ? 'is truncated' : 'has trailing data';
    throw new BadFileError(`${path} ${what}: its header (dim ${c.dim}, ${c.layers} layers, vocab ${c.vocabSize}) implies ${expected} bytes, the file has ${fileSize}`);
  }

  const globals: PlannedTensor[] = [];
  const perLayer: PlannedTensor[][] = Array.from({ length: c.layers }, () => []);
  let offset = HEADER_BYTES;
  for (const [name, torchShape, isPerLayer] of layout(c)) {
    const bytes = 4 * elements(torchShape);
    for (let l = 0; l < (isPerLayer ? c.layers : 1); l++) {
      if (name !== null) {
        const shape = [...torchShape].reverse();
        const fullName = isPerLayer ? `blk.${l}.${name}` : name;
        // llama2.c rotates adjacent pairs (i, i+1), which is GGUF's layout already: no Q/K permutation.
        const t: PlannedTensor = { name: fullName, type: storedType(fullName, shape, type), shape, source: { kind: 'file', path, offset, dtype: 'f32' } };
        (isPerLayer ? perLayer[l]! : globals).push(t);
      }
      offset += bytes;
    }
  }
  // GGUF order: token_embd, the blocks, then output_norm and output.
  const ordered = [...globals.slice(0, 1), ...perLayer.flat(), ...globals.slice(1)];
  const parameters = ordered.reduce((sum, t) => sum + elements(t.shape), 0);
  const headSize = c.dim / c.heads;
  const metadata: GgufKV[] = [
    kv.str('general.architecture', 'llama'),
    kv.str('general.type', 'model'),
    kv.str('general.name', basename(path, extname(path))),
    kv.str('general.description', LLAMA2C_DESCRIPTION),
    kv.str('general.size_label', sizeLabel(parameters)),
    kv.u32('llama.block_count', c.layers),
    kv.u32('llama.context_length', c.seqLen),
    kv.u32('llama.embedding_length', c.dim),
    kv.u32('llama.feed_forward_length', c.hiddenDim),
    kv.u32('llama.attention.head_count', c.heads),
    kv.u32('llama.attention.head_count_kv', c.kvHeads),
    kv.f32('llama.rope.freq_base', 10000),
    kv.f32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    kv.u32('general.file_type', FILE_TYPE[type]),
    kv.u32('llama.vocab_size', c.vocabSize),
    kv.u32('llama.rope.dimension_count', headSize),
    kv.u32('general.quantization_version', 2),
    ...placeholderVocab(c.vocabSize),
  ];
  return { sourceKind: 'llama2.c checkpoint', architecture: 'llama', metadata, tensors: ordered };
}
