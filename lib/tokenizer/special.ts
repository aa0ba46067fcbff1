// Splits raw text around special tokens before the model's tokenizer sees it, longest special
// token first, with the left/right whitespace stripping some tokens ask for (as llama.cpp does).
import { ATTR_CONTROL, ATTR_LSTRIP, ATTR_RSTRIP, ATTR_UNKNOWN, type Vocab } from './data.js';
import { isCSpace } from './unicode.js';

/** A piece of text to tokenize, or a special token id already resolved. */
export type Fragment = string | number;

// Special tokens are found through their first characters: one scan per distinct prefix.
const PREFIX = 3;

export class SpecialSplitter {
  /** Prefix → the special tokens that start with it: all of them, and the always-recognized ones. */
  private readonly withControl = new Map<string, number[]>();
  private readonly userDefined = new Map<string, number[]>();
  /** Position of each special token in llama.cpp's order (longest first). */
  private readonly rank = new Map<number, number>();

  constructor(private readonly vocab: Vocab) {
    vocab.specialIds.forEach((id, i) => {
      this.rank.set(id, i);
      const prefix = vocab.texts[id]!.slice(0, PREFIX);
      // Control and unknown tokens are only recognized on request; user-defined ones always are.
      const maps = vocab.attrs[id]! & (ATTR_CONTROL | ATTR_UNKNOWN) ? [this.withControl] : [this.withControl, this.userDefined];
      for (const map of maps) {
        const group = map.get(prefix);
        if (group) group.push(id);
        else map.set(prefix, [id]);
      }
    });
  }

  split(text: string, parseSpecial: boolean): Fragment[] {
    let fragments: Fragment[] = text === '' ? [] : [text];
    for (const id of this.present(text, parseSpecial)) {
      const attr = this.vocab.attrs[id]!;
      const special = this.vocab.texts[id]!;
      const next: Fragment[] = [];
      for (const fragment of fragments) {
        if (typeof fragment === 'number') {
          next.push(fragment);
          continue;
        }
        let start = 0;
        for (;;) {
          const match = fragment.indexOf(special, start);
          if (match < 0) {
            if (start < fragment.length) next.push(fragment.slice(start));
            break;
          }
          let leftEnd = match;
          if (attr & ATTR_LSTRIP) while (leftEnd > start && isCSpace(fragment.charCodeAt(leftEnd - 1))) leftEnd--;
          if (leftEnd > start) next.push(fragment.slice(start, leftEnd));
          next.push(id);
          start = match + special.length;
          if (attr & ATTR_RSTRIP) while (start < fragment.length && isCSpace(fragment.charCodeAt(start))) start++;
        }
      }
      fragments = next;
    }
    return fragments;
  }

  /** The special tokens to look for, in llama.cpp's order: those that occur in the text at all. */
  private present(text: string, parseSpecial: boolean): number[] {
    const found: number[] = [];
    for (const [prefix, group] of parseSpecial ? this.withControl : this.userDefined) {
      const seen = new Set<number>();
      for (let at = text.indexOf(prefix); at >= 0 && seen.size < group.length; at = text.indexOf(prefix, at + 1)) {
        for (const id of group) if (!seen.has(id) && text.startsWith(this.vocab.texts[id]!, at)) seen.add(id);
      }
      found.push(...seen);
    }
    return found.sort((a, b) => this.rank.get(a)! - this.rank.get(b)!);
  }
}
