// A tiny independent GGUF encoder for tests: builds valid files field by field (recording every field
// boundary) so that tests can corrupt any one field.

export const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;

export class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  /** Offsets where each field ends. */
  readonly boundaries: number[] = [];

  raw(b: Buffer | Uint8Array): this {
    this.chunks.push(Buffer.from(b));
    this.length += b.length;
    this.boundaries.push(this.length);
    return this;
  }
  u8(n: number): this {
    return this.raw(Buffer.from([n]));
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return this.raw(b);
  }
  u64(n: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
    return this.raw(b);
  }
  str(s: string | Buffer, length?: number | bigint): this {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    return this.u64(length ?? b.length).raw(b);
  }
  pad(alignment: number): this {
    const n = (alignment - (this.length % alignment)) % alignment;
    return n ? this.raw(Buffer.alloc(n)) : this;
  }
  build(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface TensorSpec {
  name: string | Buffer;
  dims: (number | bigint)[];
  type: number;
  /** Relative to the data section. */
  offset: number | bigint;
}

export interface GgufSpec {
  magic?: string;
  version?: number;
  /** Overrides the header counts (absurd counts). */
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  /** Each kv: a key, and a function writing the type tag and value. */
  kvs?: { key: string | Buffer; write: (b: Bytes) => void }[];
  tensors?: TensorSpec[];
  alignment?: number;
  /** Bytes of the data section (after the aligned end of the tensor infos). */
  dataBytes?: number;
}

/** Encodes a GGUF file; returns the bytes and the end offset of every field. */
export function gguf(spec: GgufSpec): { bytes: Buffer; boundaries: number[]; dataOffset: number } {
  const b = new Bytes();
  b.raw(Buffer.from(spec.magic ?? 'GGUF'));
  b.u32(spec.version ?? 3);
  const kvs = spec.kvs ?? [];
  const tensors = spec.tensors ?? [];
  b.u64(spec.tensorCount ?? tensors.length);
  b.u64(spec.kvCount ?? kvs.length);
  for (const kv of kvs) {
    b.str(kv.key);
    kv.write(b);
  }
  for (const t of tensors) {
    b.str(t.name);
    b.u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.type);
    b.u64(t.offset);
  }
  b.pad(spec.alignment ?? 32);
  const dataOffset = b.length;
  if (spec.dataBytes) b.raw(Buffer.alloc(spec.dataBytes, 0x5a));
  return { bytes: b.build(), boundaries: [...b.boundaries], dataOffset };
}

export const kvU32 = (key: string, v: number) => ({ key, write: (b: Bytes) => b.u32(T.U32).u32(v) });
export const kvString = (key: string, v: string | Buffer, length?: number | bigint) => ({ key, write: (b: Bytes) => b.u32(T.STRING).str(v, length) });

/** A valid small file: a few kvs of several kinds and three F32 tensors. */
export function validSpec(): GgufSpec {
  return {
    kvs: [
      kvString('general.architecture', 'llama'),
      kvU32('llama.block_count', 1),
      { key: 'tokenizer.ggml.tokens', write: (b) => b.u32(T.ARRAY).u32(T.STRING).u64(3).str('a').str('bc').str('') },
      { key: 'tokenizer.ggml.scores', write: (b) => b.u32(T.ARRAY).u32(T.F32).u64(2).u32(0x3f800000).u32(0) },
      { key: 'x.nested', write: (b) => b.u32(T.ARRAY).u32(T.ARRAY).u64(1).u32(T.U8).u64(2).u8(1).u8(2) },
    ],
    tensors: [
      { name: 'a', dims: [4, 2], type: 0, offset: 0 },
      { name: 'b', dims: [8], type: 0, offset: 32 },
      { name: 'c', dims: [32, 1], type: 8, offset: 64 },
    ],
    dataBytes: 64 + 34,
  };
}
