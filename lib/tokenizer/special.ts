// Splits raw text around special tokens before the model's tokenizer sees it, longest special
// token first, with the left/right whitespace stripping some tokens ask for (as llama.cpp does).
import { ATTR_CONTROL, ATTR_LSTRIP, ATTR_RSTRIP, ATTR_UNKNOWN, type Vocab } from './data.js';
import { isCSpace } from './unicode.js';

/** A piece of text to tokenize, or a special token id already resolved. */
export type Fragment = string | number;

export function splitSpecial(vocab: Vocab, text: string, parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = text === '' ? [] : [text];
  for (const id of vocab.specialIds) {
    const attr = vocab.attrs[id]!;
    // Control and unknown tokens are only recognized on request; user-defined ones always are.
    if (!parseSpecial && attr & (ATTR_CONTROL | ATTR_UNKNOWN)) continue;
    const special = vocab.texts[id]!;
    if (!fragments.some((f) => typeof f === 'string' && f.includes(special))) continue;
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
