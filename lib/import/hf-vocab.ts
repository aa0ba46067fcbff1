// Hugging Face tokenizers -> llama.cpp's vocabulary: tokenizer.model (SentencePiece, "llama") or tokenizer.json (byte-level BPE, "gpt2").
import { BadFileError, UnsupportedError } from '../errors.js';
import { type JsonObject, isObject } from './hf-files.js';
import { PIECE_TYPE, parseSentencePiece } from './sentencepiece.js';

export const TOKEN_TYPE = PIECE_TYPE;

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

export interface Vocab {
  model: 'llama' | 'gpt2';
  pre: string;
  tokens: string[];
  /** SentencePiece only. */
  scores?: number[];
  types: number[];
  /** BPE only: "left right" per merge. */
  merges?: string[];
  /** tokenizer.json's added tokens (id, content), to resolve special tokens named by content. */
  added: AddedToken[];
}

/** llama.cpp's heuristic for added tokens that ought to be control tokens although not flagged special. */
export function looksSpecial(text: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(text) ||
    (text.startsWith('<|') && text.endsWith('|>')) ||
    (text.startsWith('<｜') && text.endsWith('｜>')) ||
    (text.startsWith('<unused') && text.endsWith('>'))
  );
}

function filled<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/**
 * tokenizer.model -> the "llama" vocabulary, sized to config.json's vocab_size: ids the model has but the
 * tokenizer lacks become "[PAD<i>]" unused tokens; added_tokens.json and tokenizer_config.json's
 * added_tokens_decoder override entries, as llama.cpp's converter does.
 */
export function sentencePieceVocab(
  bytes: Uint8Array,
  vocabSize: number | undefined,
  addedTokensJson: unknown,
  tokenizerConfig: JsonObject | undefined,
): Vocab {
  const spm = parseSentencePiece(bytes);
  const n = vocabSize ?? spm.pieces.length;
  const tokens = filled(n, (i) => `[PAD${i}]`);
  const scores = filled(n, () => -10000);
  const types = filled<number>(n, () => TOKEN_TYPE.UNUSED);
  spm.pieces.slice(0, n).forEach((p, i) => {
    tokens[i] = p.piece;
    scores[i] = p.score;
    types[i] = p.type;
  });
  if (isObject(addedTokensJson)) {
    for (const [content, id] of Object.entries(addedTokensJson)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new BadFileError(`added_tokens.json: bad id ${JSON.stringify(id)} for ${JSON.stringify(content)}`);
      if (id >= n) continue;
      tokens[id] = content;
      scores[id] = -1000;
      types[id] = TOKEN_TYPE.USER_DEFINED;
    }
  }
  const decoder = tokenizerConfig?.added_tokens_decoder;
  if (isObject(decoder)) {
    for (const [key, entry] of Object.entries(decoder)) {
      const id = Number(key);
      if (!Number.isInteger(id) || id < 0 || !isObject(entry) || typeof entry.content !== 'string') {
        throw new BadFileError(`tokenizer_config.json: malformed added_tokens_decoder entry ${JSON.stringify(key)}`);
      }
      if (id >= n) continue;
      const special = entry.special === true || looksSpecial(entry.content);
      tokens[id] = special ? entry.content : entry.content.replaceAll('\u2581', ' ');
      types[id] = special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
      scores[id] = -1000;
    }
  }
  return { model: 'llama', pre: 'default', tokens, scores, types, added: [] };
}

const LLAMA3_SPLIT = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2_SPLIT = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/**
 * tokenizer.ggml.pre for a tokenizer.json pre_tokenizer. llama.cpp's converter identifies it by hashing
 * the token ids of a probe text (which needs the transformers library); the configurations of the
 * supported model families are recognized here directly.
 */
export function bpePreTokenizer(pre: unknown): string {
  const steps = isObject(pre) && pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [pre];
  const describe = steps.map((s) => {
    if (!isObject(s)) return '?';
    if (s.type === 'Split' && isObject(s.pattern) && typeof s.pattern.Regex === 'string') return `Split(${s.pattern.Regex})`;
    if (s.type === 'ByteLevel') return s.use_regex === false ? 'ByteLevel' : 'ByteLevel(regex)';
    if (s.type === 'Digits') return s.individual_digits === true ? 'Digits(individual)' : 'Digits';
    return String(s.type);
  });
  const key = describe.join(' + ');
  const known: Record<string, string> = {
    [`Split(${LLAMA3_SPLIT}) + ByteLevel`]: 'llama-bpe',
    [`Split(${QWEN2_SPLIT}) + ByteLevel`]: 'qwen2',
    'ByteLevel(regex)': 'gpt-2',
    'Digits(individual) + ByteLevel(regex)': 'smollm',
  };
  const name = known[key];
  if (name === undefined) {
    throw new UnsupportedError(
      `tokenizer.json: BPE pre-tokenizer ${key} is not recognized (known: the Llama 3, Qwen2, GPT-2 and SmolLM configurations)`,
    );
  }
  return name;
}

/** Merges as llama.cpp stores them: "left right", with spaces inside a part written as U+0120 like the byte-level alphabet. */
function mergeStrings(merges: unknown): string[] {
  if (!Array.isArray(merges)) throw new BadFileError('tokenizer.json: model.merges is not a list');
  return merges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return m.map((part: string) => part.replaceAll(' ', '\u0120')).join(' ');
    }
    throw new BadFileError(`tokenizer.json: merge ${i} is neither "a b" nor ["a", "b"]`);
  });
}

function addedTokens(json: JsonObject): AddedToken[] {
  const list = json.added_tokens ?? [];
  if (!Array.isArray(list)) throw new BadFileError('tokenizer.json: added_tokens is not a list');
  return list.map((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0) {
      throw new BadFileError(`tokenizer.json: added token ${i} is malformed`);
    }
    return { id: t.id, content: t.content, special: t.special === true };
  });
}

/** tokenizer.json (byte-level BPE) -> the "gpt2" vocabulary, sized to config.json's vocab_size. */
export function bpeVocab(json: unknown, vocabSize: number | undefined): Vocab {
  if (!isObject(json) || !isObject(json.model)) throw new BadFileError('tokenizer.json: no "model" object');
  const model = json.model;
  if (model.type !== 'BPE') throw new UnsupportedError(`tokenizer.json: tokenizer model ${JSON.stringify(model.type)} is not supported (BPE only)`);
  if (model.byte_fallback === true) {
    throw new UnsupportedError('tokenizer.json: a SentencePiece-style BPE (byte_fallback) needs its tokenizer.model, which is missing');
  }
  if (!isObject(model.vocab)) throw new BadFileError('tokenizer.json: model.vocab is not an object');
  const added = addedTokens(json);
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new BadFileError(`tokenizer.json: bad id for token ${JSON.stringify(text)}`);
    byId.set(id, text);
  }
  const addedById = new Map(added.map((t) => [t.id, t]));
  for (const t of added) byId.set(t.id, t.content);
  let maxId = -1;
  for (const id of byId.keys()) maxId = Math.max(maxId, id);
  const n = vocabSize ?? maxId + 1;
  if (maxId >= n) throw new BadFileError(`tokenizer.json: token id ${maxId} is outside the model's vocab_size ${n}`);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < n; i++) {
    const text = byId.get(i);
    const a = addedById.get(i);
    if (text === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(TOKEN_TYPE.UNUSED);
    } else if (a && (a.special || looksSpecial(a.content))) {
      tokens.push(text);
      types.push(TOKEN_TYPE.CONTROL);
    } else if (a) {
      tokens.push(text.replaceAll('\u2581', ' '));
      types.push(TOKEN_TYPE.USER_DEFINED);
    } else {
      tokens.push(text);
      types.push(TOKEN_TYPE.NORMAL);
    }
  }
  return { model: 'gpt2', pre: bpePreTokenizer(json.pre_tokenizer), tokens, types, merges: mergeStrings(model.merges ?? []), added };
}
