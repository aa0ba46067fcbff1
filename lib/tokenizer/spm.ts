// SentencePiece-style encoding (llama.cpp's "llama" vocabulary): characters merge pairwise,
// the pair whose joined text is the best-scoring token first; characters that never form a
// token fall back to byte tokens <0xXX>.
import type { Vocab } from './data.js';
import { MergeQueue } from './merge-queue.js';
import { utf8Bytes } from './unicode.js';

// Segments repeat a lot in real text; the cache is dropped whole when it reaches this size.
const CACHE_LIMIT = 100_000;
const CODE_POINTS = 0x110000;

export class SpmEncoder {
  private readonly queue = new MergeQueue();
  private readonly top = { left: 0, right: 0, size: 0 };
  private readonly byteIds: (number | undefined)[] = new Array(256);
  private readonly maxTokenLength: number;
  /** Every pair of adjacent code points found inside some token, as first * 0x110000 + second. */
  private readonly innerPairs = new Set<number>();
  private readonly cache = new Map<string, readonly number[]>();

  constructor(private readonly vocab: Vocab) {
    let max = 0;
    for (const text of vocab.texts) {
      max = Math.max(max, text.length);
      let before = -1;
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        if (before >= 0) this.innerPairs.add(before * CODE_POINTS + cp);
        before = cp;
      }
    }
    this.maxTokenLength = max;
    const hex = '0123456789ABCDEF';
    for (let b = 0; b < 256; b++) {
      const id = vocab.idByText.get(`<0x${hex[b >> 4]}${hex[b & 15]}>`) ?? (b < 0x80 ? vocab.idByText.get(String.fromCharCode(b)) : undefined);
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
      if (before >= 0 && !this.innerPairs.has(before * CODE_POINTS + cp)) {
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
      const fresh: number[] = [];
      this.merge(segment, fresh);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(segment, fresh);
      ids = fresh;
    }
    for (const id of ids) out.push(id);
  }

  private merge(text: string, out: number[]): void {
    const n = text.length;
    if (n === 0) return;
    // Symbols are code points; `len` is in UTF-16 units, 0 once merged into the left neighbour.
    const start = new Int32Array(n);
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    let count = 0;
    for (let i = 0; i < n; ) {
      const c = text.charCodeAt(i);
      const w = c >= 0xd800 && c < 0xdc00 && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      start[count] = i;
      len[count] = w;
      prev[count] = count - 1;
      i += w;
      next[count] = i === n ? -1 : count + 1;
      count++;
    }

    const queue = this.queue;
    queue.clear();
    const { idByText, scores } = this.vocab;
    const maxLength = this.maxTokenLength;
    const tryPair = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const size = len[left]! + len[right]!;
      if (size > maxLength) return;
      const id = idByText.get(text.substr(start[left]!, size));
      if (id === undefined) return;
      // Highest score first: the queue pops the lowest value.
      queue.push(-scores[id]!, left, right, size);
    };
    for (let i = 1; i < count; i++) tryPair(i - 1, i);

    const top = this.top;
    while (queue.length > 0) {
      queue.pop(top);
      const { left, right } = top;
      // Skip pairs that went stale: a side merged elsewhere or grew since the pair was queued.
      if (len[left] === 0 || len[right] === 0 || len[left]! + len[right]! !== top.size) continue;
      len[left] = top.size;
      len[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      tryPair(prev[left]!, left);
      tryPair(left, next[left]!);
    }

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
  }
}
