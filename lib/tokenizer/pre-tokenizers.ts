// The pre-tokenizers of byte-level BPE vocabularies: regexes that cut text into words before the
// merges run, one list per `tokenizer.ggml.pre` family, with llama.cpp's whitespace class.
import { WS } from './unicode.js';

const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;
const CONTRACTIONS = String.raw`'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]`;

// GPT-2's split: contractions, letter runs, number runs and other-symbol runs each with an
// optional leading space, then whitespace (a run before a word leaves its last space to it).
const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|${S}+(?!${NOT_S})|${S}+`;

// Llama 3 and Qwen2: case-insensitive contractions, any non-letter/digit/newline char may lead a
// letter run, newlines gather with the whitespace before them; digits in groups of up to three
// (Llama 3) or one by one (Qwen2).
function llama3Like(digits: string): string {
  return (
    String.raw`${CONTRACTIONS}|[^\r\n\p{L}\p{N}]?\p{L}+|${digits}` +
    String.raw`| ?[^${WS}\p{L}\p{N}]+[\r\n]*|${S}*[\r\n]+|${S}+(?!${NOT_S})|${S}+`
  );
}

// Tekken (Mistral) and GPT-4o: a word is an optional lead character, capitals, then lower-case
// letters (or capitals then lower case); as llama.cpp evaluates them, only ASCII letters have a
// case (any other letter counts as both), and GPT-4o lets a contraction end the word.
function casedWords(contraction: string, digits: string, symbolTail: string): string {
  const upper = '(?:(?=\\p{L})[^a-z])';
  const lower = '(?:(?=\\p{L})[^A-Z])';
  return (
    String.raw`[^\r\n\p{L}\p{N}]?${upper}*${lower}+${contraction}|[^\r\n\p{L}\p{N}]?${upper}+${lower}*${contraction}|${digits}` +
    String.raw`| ?[^${WS}\p{L}\p{N}]+${symbolTail}|${S}*[\r\n]+|${S}+(?!${NOT_S})|${S}+`
  );
}

const FAMILIES = {
  gpt2: [GPT2],
  llama3: [llama3Like(String.raw`\p{N}{1,3}`)],
  qwen2: [llama3Like(String.raw`\p{N}`)],
  // StarCoder, SmolLM, Command-R, ...: every digit alone, then GPT-2's split.
  digitsThenGpt2: [String.raw`\p{N}`, GPT2],
  falcon: [String.raw`[\p{P}$+<=>^~|${'`'}]+`, GPT2, '[0-9][0-9][0-9]'],
  tekken: [casedWords('', String.raw`\p{N}`, '[\\r\\n/]*')],
  gpt4o: [casedWords(`(?:${CONTRACTIONS})?`, String.raw`\p{N}{1,3}`, '[\\r\\n/]*')],
  // llama.cpp's fallback for vocabularies without a named pre-tokenizer: each regex cuts the
  // pieces of the previous one further.
  default: [String.raw`[\p{P}$+<=>^~|]+`, GPT2, String.raw`\p{N}+`, '[0-9][0-9][0-9]'],
} satisfies Record<string, readonly string[]>;

export type PreTokenizerFamily = keyof typeof FAMILIES;

/** What a `tokenizer.ggml.pre` name means, as llama.cpp maps it. */
export interface PreTokenizerSpec {
  family: PreTokenizerFamily;
  /** A word that is a token as a whole skips the merges (Llama 3, Tekken). */
  ignoreMerges?: boolean;
  /** BOS is added unless the file says otherwise. */
  addBos?: boolean;
  /** No BOS token unless the file names one (GLM-4). */
  noBos?: boolean;
}

const LLAMA3: PreTokenizerSpec = { family: 'llama3', ignoreMerges: true, addBos: true };
const PRE_NAMES: Record<string, PreTokenizerSpec> = {
  default: { family: 'default' },
  llama3: LLAMA3,
  'llama-v3': LLAMA3,
  'llama-bpe': LLAMA3,
  falcon3: LLAMA3,
  pixtral: LLAMA3,
  dbrx: { family: 'llama3' },
  'smaug-bpe': { family: 'llama3' },
  glm4: { family: 'llama3', noBos: true },
  'chatglm-bpe': { family: 'llama3', noBos: true },
  qwen2: { family: 'qwen2' },
  'deepseek-r1-qwen': { family: 'qwen2' },
  stablelm2: { family: 'qwen2' },
  'gpt-2': { family: 'gpt2' },
  'phi-2': { family: 'gpt2' },
  mpt: { family: 'gpt2' },
  olmo: { family: 'gpt2' },
  starcoder: { family: 'digitsThenGpt2' },
  refact: { family: 'digitsThenGpt2' },
  'command-r': { family: 'digitsThenGpt2' },
  smollm: { family: 'digitsThenGpt2' },
  codeshell: { family: 'digitsThenGpt2' },
  exaone: { family: 'digitsThenGpt2' },
  'minerva-7b': { family: 'digitsThenGpt2' },
  falcon: { family: 'falcon' },
  tekken: { family: 'tekken', ignoreMerges: true, addBos: true },
  'gpt-4o': { family: 'gpt4o' },
  llama4: { family: 'gpt4o' },
};

export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(PRE_NAMES);

export function preTokenizerSpec(pre: string): PreTokenizerSpec | undefined {
  return Object.hasOwn(PRE_NAMES, pre) ? PRE_NAMES[pre] : undefined;
}

export type PreTokenizer = (text: string) => string[];

/** A splitter for the family: every piece of the text lands in a word, matched or not. */
export function createPreTokenizer(family: PreTokenizerFamily): PreTokenizer {
  const regexes = FAMILIES[family].map((source) => new RegExp(source, 'gu'));
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
