// The pre-tokenizers of byte-level BPE vocabularies: regexes that cut text into words before the
// merges run, one list per `tokenizer.ggml.pre` family, with llama.cpp's whitespace class.
import { WS } from './unicode.js';

const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;

// GPT-2's split: contractions, letter runs, number runs and other-symbol runs each with an
// optional leading space, then whitespace (a run before a word leaves its last space to it).
const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|${S}+(?!${NOT_S})|${S}+`;

// Llama 3 and Qwen2: case-insensitive contractions, any non-letter/digit/newline char may lead a
// letter run, newlines gather with the whitespace before them; digits in groups of up to three
// (Llama 3) or one by one (Qwen2).
function llama3Like(digits: string): string {
  return (
    String.raw`'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|${digits}` +
    String.raw`| ?[^${WS}\p{L}\p{N}]+[\r\n]*|${S}*[\r\n]+|${S}+(?!${NOT_S})|${S}+`
  );
}

const FAMILIES: Record<string, readonly string[]> = {
  gpt2: [GPT2],
  llama3: [llama3Like(String.raw`\p{N}{1,3}`)],
  qwen2: [llama3Like(String.raw`\p{N}`)],
  // llama.cpp's fallback for vocabularies without a named pre-tokenizer: each regex cuts the
  // pieces of the previous one further.
  default: [String.raw`[\p{P}$+<=>^~|]+`, GPT2, String.raw`\p{N}+`, '[0-9][0-9][0-9]'],
};

/** `tokenizer.ggml.pre` names and the family whose regexes they use (as llama.cpp maps them). */
const PRE_NAMES: Record<string, keyof typeof FAMILIES> = {
  default: 'default',
  llama3: 'llama3',
  'llama-v3': 'llama3',
  'llama-bpe': 'llama3',
  falcon3: 'llama3',
  pixtral: 'llama3',
  qwen2: 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  stablelm2: 'qwen2',
  'gpt-2': 'gpt2',
  'phi-2': 'gpt2',
  mpt: 'gpt2',
  olmo: 'gpt2',
};

export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(PRE_NAMES);

export type PreTokenizerFamily = keyof typeof FAMILIES;

export function preTokenizerFamily(pre: string): PreTokenizerFamily | undefined {
  return Object.hasOwn(PRE_NAMES, pre) ? PRE_NAMES[pre] : undefined;
}

export type PreTokenizer = (text: string) => string[];

/** A splitter for the family: every piece of the text lands in a word, matched or not. */
export function createPreTokenizer(family: PreTokenizerFamily): PreTokenizer {
  const regexes = FAMILIES[family]!.map((source) => new RegExp(source, 'gu'));
  return (text) => {
    let pieces = [text];
    for (const re of regexes) {
      const next: string[] = [];
      for (const piece of pieces) splitInto(piece, re, next);
      pieces = next;
    }
    return pieces;
  };
}

function splitInto(text: string, re: RegExp, out: string[]): void {
  re.lastIndex = 0;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
}
