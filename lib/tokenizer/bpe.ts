// Byte-level BPE encoding (llama.cpp's "gpt2" vocabulary): the pre-tokenizer cuts text into
// words, each word's UTF-8 bytes become GPT-2 characters, and adjacent symbols merge by rank.
import type { Vocab } from './data.js';
import { MergeQueue, runMerges, SymbolChain } from './merge.js';
import { createPreTokenizer, type PreTokenizer } from './pre-tokenizers.js';
import { byteEncode } from './unicode.js';

// Words repeat a lot in real text; the cache is dropped whole when it reaches this size.
const CACHE_LIMIT = 100_000;

export class BpeEncoder {
  private readonly queue = new MergeQueue();
  private readonly symbols = new SymbolChain();
  private readonly preTokenize: PreTokenizer;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(private readonly vocab: Vocab) {
    this.preTokenize = createPreTokenizer(vocab.preFamily ?? 'default');
  }

  /** Appends the tokens of `text` to `out`. */
  encode(text: string, out: number[]): void {
    for (const word of this.preTokenize(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(byteEncode(word));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    const { idByText, mergeRanks } = this.vocab;
    if (this.vocab.ignoreMerges) {
      const whole = idByText.get(word);
      if (whole !== undefined) return [whole];
    }
    const n = word.length;
    const symbols = this.symbols;
    symbols.reset(word);
    const { start, len, next } = symbols;
    const queue = this.queue;
    queue.clear();
    runMerges(symbols, queue, (left, right) => {
      if (left < 0 || right < 0) return;
      const rank = mergeRanks.get(`${word.substr(start[left]!, len[left]!)} ${word.substr(start[right]!, len[right]!)}`);
      if (rank !== undefined) queue.push(rank, left, right, len[left]! + len[right]!);
    });

    const ids: number[] = [];
    for (let i = 0; i !== -1 && n > 0; i = next[i]!) {
      const piece = word.substr(start[i]!, len[i]!);
      const id = idByText.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // A symbol without a token: llama.cpp keeps only the characters that are tokens alone.
      for (const ch of piece) {
        const single = ch.charCodeAt(0) < 0x80 ? idByText.get(ch) : undefined;
        if (single !== undefined) ids.push(single);
      }
    }
    return ids;
  }
}
