// Builds a Tokenizer from a GGUF file's tokenizer.* metadata (works on vocabulary-only files).
import { BadFileError } from '../errors.js';
import { readGguf, type GgufFile, type GgufValue } from '../gguf.js';
import type { TokenizerData } from './data.js';
import { Tokenizer } from './tokenizer.js';

/** The tokenizer metadata of a parsed GGUF file as plain TokenizerData. */
export function tokenizerDataFromGguf(file: Pick<GgufFile, 'metadata'>): TokenizerData {
  const values = new Map<string, GgufValue>(file.metadata.map((kv) => [kv.key, kv.value]));
  const get = (key: string) => values.get(key);

  const model = get('tokenizer.ggml.model');
  if (model === undefined) throw new BadFileError('The GGUF file has no tokenizer (tokenizer.ggml.model is missing)');
  if (typeof model !== 'string') throw wrongType('tokenizer.ggml.model', 'a string');
  const tokens = get('tokenizer.ggml.tokens');
  if (tokens === undefined) throw new BadFileError('The GGUF file has no tokenizer.ggml.tokens');
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw wrongType('tokenizer.ggml.tokens', 'an array of strings');
  }
  return {
    model,
    pre: optional(get, 'tokenizer.ggml.pre', 'string'),
    tokens: tokens as string[],
    scores: numbers(get, 'tokenizer.ggml.scores'),
    tokenTypes: numbers(get, 'tokenizer.ggml.token_type'),
    merges: strings(get, 'tokenizer.ggml.merges'),
    bosId: id(get, 'tokenizer.ggml.bos_token_id'),
    eosId: id(get, 'tokenizer.ggml.eos_token_id'),
    unkId: id(get, 'tokenizer.ggml.unknown_token_id'),
    padId: id(get, 'tokenizer.ggml.padding_token_id'),
    eotId: id(get, 'tokenizer.ggml.eot_token_id'),
    eomId: id(get, 'tokenizer.ggml.eom_token_id'),
    addBos: optional(get, 'tokenizer.ggml.add_bos_token', 'boolean'),
    addEos: optional(get, 'tokenizer.ggml.add_eos_token', 'boolean'),
    addSpacePrefix: optional(get, 'tokenizer.ggml.add_space_prefix', 'boolean'),
    chatTemplate: optional(get, 'tokenizer.chat_template', 'string'),
    modelName: optional(get, 'general.name', 'string'),
  };
}

/** A Tokenizer for a parsed GGUF file; BadFileError / UnsupportedError for metadata it cannot use. */
export function tokenizerFromGguf(file: Pick<GgufFile, 'metadata'>): Tokenizer {
  return new Tokenizer(tokenizerDataFromGguf(file));
}

/** Reads a GGUF file (a model or a vocabulary-only file) and builds its Tokenizer. */
export async function loadTokenizer(path: string, options: { signal?: AbortSignal } = {}): Promise<Tokenizer> {
  return tokenizerFromGguf(await readGguf(path, options));
}

type Getter = (key: string) => GgufValue | undefined;

function wrongType(key: string, expected: string): BadFileError {
  return new BadFileError(`GGUF metadata ${key} should be ${expected}`);
}

function optional<T extends 'string' | 'boolean'>(get: Getter, key: string, type: T): (T extends 'string' ? string : boolean) | undefined {
  const value = get(key);
  if (value === undefined) return undefined;
  if (typeof value !== type) throw wrongType(key, `a ${type}`);
  return value as T extends 'string' ? string : boolean;
}

function id(get: Getter, key: string): number | undefined {
  const value = get(key);
  if (value === undefined) return undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'number') throw wrongType(key, 'an integer');
  return value;
}

function numbers(get: Getter, key: string): ArrayLike<number> | undefined {
  const value = get(key);
  if (value === undefined) return undefined;
  if (ArrayBuffer.isView(value) && !(value instanceof BigInt64Array || value instanceof BigUint64Array)) {
    return value as unknown as ArrayLike<number>;
  }
  if (Array.isArray(value) && value.length === 0) return [];
  throw wrongType(key, 'an array of numbers');
}

function strings(get: Getter, key: string): string[] | undefined {
  const value = get(key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrongType(key, 'an array of strings');
  return value as string[];
}
