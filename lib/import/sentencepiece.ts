// SentencePiece tokenizer.model (a protobuf ModelProto): the pieces with their scores and types, and the normalizer flags.
import { BadFileError } from '../errors.js';

/** SentencePiece piece types; GGUF's tokenizer.ggml.token_type uses the same numbers. */
export const PIECE_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SentencePieceModel {
  pieces: { piece: string; score: number; type: number }[];
  /** NormalizerSpec.add_dummy_prefix (protobuf default true). */
  addDummyPrefix: boolean;
  /** NormalizerSpec.remove_extra_whitespaces (protobuf default true). */
  removeExtraWhitespaces: boolean;
}

// ignoreBOM keeps a leading U+FEFF: it is a real piece in some vocabularies (Llama 2 id 30143).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** A bounds-checked protobuf reader over one message's bytes. */
class ProtoReader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    private readonly view: DataView,
    start: number,
    readonly end: number,
    private readonly what: string,
  ) {
    this.pos = start;
  }

  private fail(problem: string): never {
    throw new BadFileError(`${this.what}: ${problem} at byte ${this.pos}`);
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      // Values above 2^53 only occur in fields we skip or as negative enums: precision there does not matter.
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** Reads a field key; returns [field number, wire type]. */
  key(): [number, number] {
    const k = this.varint();
    const field = Math.floor(k / 8);
    if (field === 0) this.fail('field number 0');
    return [field, k % 8];
  }

  /** Returns [start, end] of a length-delimited payload and skips it. */
  lengthDelimited(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) this.fail(`length ${len} runs past the end of the message`);
    this.pos = start + len;
    return [start, start + len];
  }

  string(): string {
    const [start, end] = this.lengthDelimited();
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      this.pos = start;
      this.fail('string is not valid UTF-8');
    }
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('truncated float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) this.lengthDelimited();
    else if (wire === WIRE_I64 || wire === WIRE_I32) {
      const n = wire === WIRE_I64 ? 8 : 4;
      if (this.end - this.pos < n) this.fail('truncated fixed-size field');
      this.pos += n;
    } else this.fail(`unsupported wire type ${wire}`);
  }

  sub(start: number, end: number): ProtoReader {
    return new ProtoReader(this.buf, this.view, start, end, this.what);
  }
}

/** Parses a SentencePiece ModelProto; `what` names the file in error messages. */
export function parseSentencePiece(bytes: Uint8Array, what = 'tokenizer.model'): SentencePieceModel {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = new ProtoReader(bytes, view, 0, bytes.length, what);
  const model: SentencePieceModel = { pieces: [], addDummyPrefix: true, removeExtraWhitespaces: true };
  while (top.pos < top.end) {
    const [field, wire] = top.key();
    if (field === 1 && wire === WIRE_LEN) {
      const [s, e] = top.lengthDelimited();
      model.pieces.push(parsePiece(top.sub(s, e), model.pieces.length));
    } else if (field === 3 && wire === WIRE_LEN) {
      const [s, e] = top.lengthDelimited();
      parseNormalizer(top.sub(s, e), model);
    } else top.skip(wire);
  }
  if (model.pieces.length === 0) throw new BadFileError(`${what}: no pieces: not a SentencePiece model`);
  return model;
}

function parsePiece(r: ProtoReader, index: number): SentencePieceModel['pieces'][number] {
  let piece: string | undefined;
  let score = 0;
  let type: number = PIECE_TYPE.NORMAL;
  while (r.pos < r.end) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) {
      piece = r.string();
    } else if (field === 2 && wire === WIRE_I32) score = r.float32();
    else if (field === 3 && wire === WIRE_VARINT) type = r.varint();
    else r.skip(wire);
  }
  if (piece === undefined) throw new BadFileError(`tokenizer.model: piece ${index} has no text`);
  if (type < PIECE_TYPE.NORMAL || type > PIECE_TYPE.BYTE) throw new BadFileError(`tokenizer.model: piece ${index} has unknown type ${type}`);
  return { piece, score, type };
}

function parseNormalizer(r: ProtoReader, model: SentencePieceModel): void {
  while (r.pos < r.end) {
    const [field, wire] = r.key();
    if (field === 3 && wire === WIRE_VARINT) model.addDummyPrefix = r.bool();
    else if (field === 4 && wire === WIRE_VARINT) model.removeExtraWhitespaces = r.bool();
    else r.skip(wire);
  }
}
