// Token ids back to text: each token's bytes (SentencePiece's U+2581 is a space, byte tokens are
// one byte, GPT-2 characters map back to bytes), and a streaming decoder that only ever emits
// complete UTF-8 characters.
import {
  ATTR_BYTE,
  ATTR_CONTROL,
  ATTR_NORMAL,
  ATTR_UNKNOWN,
  ATTR_USER_DEFINED,
  type Vocab,
} from './data.js';
import { CHAR_TO_BYTE, utf8Bytes } from './unicode.js';

const EMPTY = new Uint8Array(0);

export interface DecodeOptions {
  /** Render control and unknown tokens (e.g. "<s>", "<|eot_id|>") as their text. Default false. */
  special?: boolean;
  /**
   * Drop the space that SentencePiece vocabularies put before the first word: the first token's,
   * or with `special` false the one after a leading BOS (which renders empty). Default: true where
   * the vocabulary adds that space when encoding; pass false to decode a continuation.
   */
  stripLeadingSpace?: boolean;
}

export class PieceTable {
  // Per token id: its bytes without and with special tokens rendered, filled on first use.
  private readonly plain: (Uint8Array | undefined)[];
  private readonly special: (Uint8Array | undefined)[];

  constructor(private readonly vocab: Vocab) {
    this.plain = new Array(vocab.size);
    this.special = new Array(vocab.size);
  }

  bytes(id: number, special: boolean): Uint8Array {
    const table = special ? this.special : this.plain;
    let bytes = table[id];
    if (bytes === undefined) {
      bytes = this.compute(id, special);
      table[id] = bytes;
    }
    return bytes;
  }

  private compute(id: number, special: boolean): Uint8Array {
    const attr = this.vocab.attrs[id]!;
    const text = this.vocab.texts[id]!;
    if (attr & (ATTR_CONTROL | ATTR_UNKNOWN)) return special ? utf8Bytes(text) : EMPTY;
    if (attr & ATTR_USER_DEFINED) return utf8Bytes(text);
    if (attr & ATTR_NORMAL) {
      if (this.vocab.kind === 'spm') return utf8Bytes(text.replaceAll('\u2581', ' '));
      return gpt2Bytes(text);
    }
    if (attr & ATTR_BYTE) {
      const value = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      return value ? Uint8Array.of(parseInt(value[1]!, 16)) : EMPTY;
    }
    return EMPTY;
  }
}

/** The bytes that a GPT-2 token's characters stand for (characters outside the table as UTF-8). */
function gpt2Bytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const byte = CHAR_TO_BYTE.get(ch.codePointAt(0)!);
    if (byte !== undefined) out.push(byte);
    else out.push(...utf8Bytes(ch));
  }
  return Uint8Array.from(out);
}

/** Decides, token by token, whether this token's leading space is the one to drop. */
export class LeadingSpace {
  private pending: boolean;

  /** `skipId`: a token that renders empty at the start (BOS) and passes the drop on. */
  constructor(strip: boolean, private readonly skipId: number | undefined) {
    this.pending = strip;
  }

  /** The token's bytes with at most one leading space removed when it starts the text. */
  apply(id: number, bytes: Uint8Array): Uint8Array {
    if (!this.pending) return bytes;
    if (id === this.skipId) return bytes;
    this.pending = false;
    return bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
  }
}

/** Yields text as tokens arrive; a character split over byte tokens comes out when complete. */
export interface StreamDecoder {
  /** The text that this token completes (possibly empty). */
  push(id: number): string;
  /** The rest: bytes of an unfinished character come out as U+FFFD. */
  flush(): string;
}

export function createStreamDecoder(
  pieces: PieceTable,
  checkId: (id: number) => void,
  special: boolean,
  leadingSpace: LeadingSpace,
): StreamDecoder {
  const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    push(id) {
      checkId(id);
      return utf8.decode(leadingSpace.apply(id, pieces.bytes(id, special)), { stream: true });
    },
    flush() {
      return utf8.decode();
    },
  };
}
