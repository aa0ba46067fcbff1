// SentencePiece-style encoding (llama.cpp's "llama" vocabulary): characters merge pairwise,
// the pair whose joined text is the best-scoring token first; characters that never form a
// token fall back to byte tokens <0xXX>.
import type { Vocab } from './data.js';
import { MergeQueue, runMerges, SymbolChain } from './merge.js';
import { utf8Bytes } from './unicode.js';

// Segments repeat a lot in real text; the cache is dropped whole when it reaches this size.
const CACHE_LIMIT = 100_000;

/** A number for a pair of code points; small (a fast map key) when both are below U+8000. */
function pairKey(first: number, second: number): number {
  return first < 0x8000 && second < 0x8000 ? (first << 15) | second : 2 ** 30 + first * 0x110000 + second;
}

export class SpmEncoder {
  private readonly queue = new MergeQueue();
  private readonly symbols = new SymbolChain();
  private readonly byteIds: (number | undefined)[] = new Array(256);
  private readonly maxTokenLength: number;
  /** Every pair of adjacent code points found inside some token (see pairKey). */
  private readonly innerPairs = new Set<number>();
  private readonly cache = new Map<string, readonly number[]>();

  constructor(private readonly vocab: Vocab) {
    let max = 0;
    for (const text of vocab.texts) {
      max = Math.max(max, text.length);
      let before = -1;
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        if (before >= 0) this.innerPairs.add(pairKey(before, cp));
        before = cp;
      }
    }
    this.maxTokenLength = max;
    const hex = '0123456789ABCDEF';
    for (let b = 0; b < 256; b++) {
      const id =
        vocab.idByText.get(`<0x${hex[b >> 4]}${hex[b & 15]}>`) ?? (b < 0x80 ? vocab.idByText.get(String.fromCharCode(b)) : undefined);
      this.byteIds[b] = id ?? vocab.unkId;
    }
  }

  /**
   * Appends the tokens of `text` (spaces already escaped to U+2581) to `out`. No merge can join
   * two code points that no token holds side by side, so the text is cut there and the pieces,
   * mostly words, are encoded on their own (with a cache): the ids are the same as for one pass.
   */
  encode(text: string, out: number[]): void {
    let segmentStart = 0;
    let before = -1;
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      if (before >= 0 && !this.innerPairs.has(pairKey(before, cp))) {
        this.encodeSegment(text.slice(segmentStart, i), out);
        segmentStart = i;
      }
      before = cp;
      i += cp > 0xffff ? 2 : 1;
    }
    this.encodeSegment(text.slice(segmentStart), out);
  }

  private encodeSegment(segment: string, out: number[]): void {
    let ids = this.cache.get(segment);
    if (ids === undefined) {
      ids = this.merge(segment);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(segment, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  private merge(text: string): number[] {
    const out: number[] = [];
    if (text.length === 0) return out;
    const symbols = this.symbols;
    symbols.reset(text);
    const { start, len, next } = symbols;
    const { idByText, scores } = this.vocab;
    const queue = this.queue;
    queue.clear();
    const maxLength = this.maxTokenLength;
    runMerges(symbols, queue, (left, right) => {
      if (left < 0 || right < 0) return;
      const size = len[left]! + len[right]!;
      if (size > maxLength) return;
      const id = idByText.get(text.substr(start[left]!, size));
      // Highest score first: the queue pops the lowest value.
      if (id !== undefined) queue.push(-scores[id]!, left, right, size);
    });

    for (let i = 0; i !== -1; i = next[i]!) {
      const piece = text.substr(start[i]!, len[i]!);
      const id = idByText.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const b of utf8Bytes(piece)) {
        const byteId = this.byteIds[b];
        if (byteId !== undefined) out.push(byteId);
      }
    }
    return out;
  }
}
