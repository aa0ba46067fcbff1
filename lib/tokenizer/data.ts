// The tokenizer's input as plain data (what a GGUF file's tokenizer.* metadata holds), and the
// vocabulary built from it: token attributes, special ids, end-of-generation tokens.
import { BadFileError, UnsupportedError } from '../errors.js';
import { preTokenizerSpec, SUPPORTED_PRE_TOKENIZERS, type PreTokenizerFamily, type PreTokenizerSpec } from './pre-tokenizers.js';

/** The tokenizer metadata of a model, as stored under `tokenizer.ggml.*` in GGUF. */
export interface TokenizerData {
  /** `tokenizer.ggml.model`: "llama" (SentencePiece-style) or "gpt2" (byte-level BPE). */
  model: string;
  /** `tokenizer.ggml.pre`: the pre-tokenizer of a BPE vocabulary ("llama-bpe", "qwen2", "gpt-2", ...). */
  pre?: string;
  tokens: readonly string[];
  scores?: ArrayLike<number>;
  /** 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  tokenTypes?: ArrayLike<number>;
  /** BPE merges, "left right", highest priority first. */
  merges?: readonly string[];
  bosId?: number;
  eosId?: number;
  unkId?: number;
  padId?: number;
  eotId?: number;
  eomId?: number;
  addBos?: boolean;
  addEos?: boolean;
  addSpacePrefix?: boolean;
  chatTemplate?: string;
  /** `general.name`: llama.cpp gives Phi-3's special tokens right-strip on this name. */
  modelName?: string;
}

// Token attributes, as bit flags.
export const ATTR_UNDEFINED = 0;
export const ATTR_UNKNOWN = 1 << 0;
export const ATTR_UNUSED = 1 << 1;
export const ATTR_NORMAL = 1 << 2;
export const ATTR_CONTROL = 1 << 3;
export const ATTR_USER_DEFINED = 1 << 4;
export const ATTR_BYTE = 1 << 5;
export const ATTR_LSTRIP = 1 << 7;
export const ATTR_RSTRIP = 1 << 8;

const ATTR_BY_TYPE: Record<number, number> = {
  1: ATTR_NORMAL,
  2: ATTR_UNKNOWN,
  3: ATTR_CONTROL,
  4: ATTR_USER_DEFINED,
  5: ATTR_UNUSED,
  6: ATTR_BYTE,
};

// Texts of tokens that end a generation in the common chat formats, end-of-turn markers first
// (the first one present is the end-of-turn token when the file names none). llama.cpp marks
// them as control tokens even where a converter left them normal.
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '<end_of_utterance>'];
const EOG_TEXTS = new Set([...EOT_TEXTS, '</s>', '<|eom_id|>', '<eos>']);

export type VocabKind = 'spm' | 'bpe';

/** The vocabulary in the shape the encoders and decoders use. */
export class Vocab {
  readonly kind: VocabKind;
  readonly preFamily: PreTokenizerFamily | undefined;
  readonly texts: string[];
  readonly attrs: Uint16Array;
  readonly scores: Float32Array;
  readonly idByText = new Map<string, number>();
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly unkId: number | undefined;
  readonly eotId: number | undefined;
  readonly padId: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** BPE: "left right" → rank (the first occurrence of a pair wins). */
  readonly mergeRanks = new Map<string, number>();
  readonly ignoreMerges: boolean;
  readonly eogIds = new Set<number>();
  /** Control, user-defined and unknown tokens, longest text first: matched in raw text first. */
  readonly specialIds: number[];
  readonly chatTemplate: string | undefined;
  /** Metadata that was ignored, as llama.cpp ignores it (e.g. a special id outside the vocabulary). */
  readonly warnings: string[] = [];

  constructor(data: TokenizerData) {
    if (data.model === 'llama') this.kind = 'spm';
    else if (data.model === 'gpt2') this.kind = 'bpe';
    else if (typeof data.model !== 'string' || data.model === '') {
      throw new BadFileError('The tokenizer metadata has no tokenizer.ggml.model');
    } else {
      throw new UnsupportedError(
        `Unsupported tokenizer model "${data.model}" (tokenizer.ggml.model); supported: "llama" (SentencePiece), "gpt2" (byte-level BPE)`,
      );
    }
    if (!Array.isArray(data.tokens) || data.tokens.length === 0) {
      throw new BadFileError('The tokenizer metadata has no tokens (tokenizer.ggml.tokens)');
    }
    const n = data.tokens.length;
    checkLength(data.scores, n, 'tokenizer.ggml.scores');
    checkLength(data.tokenTypes, n, 'tokenizer.ggml.token_type');

    let preSpec: PreTokenizerSpec | undefined;
    if (this.kind === 'bpe') {
      const pre = data.pre ?? 'default';
      preSpec = preTokenizerSpec(pre);
      this.preFamily = preSpec?.family;
      if (preSpec === undefined) {
        throw new UnsupportedError(
          `Unsupported pre-tokenizer "${pre}" (tokenizer.ggml.pre); supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`,
        );
      }
      if (!data.merges) throw new BadFileError('The BPE tokenizer metadata has no merges (tokenizer.ggml.merges)');
    }

    this.texts = new Array<string>(n);
    this.attrs = new Uint16Array(n);
    this.scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let text = data.tokens[i];
      if (typeof text !== 'string') throw new BadFileError(`Token ${i} of tokenizer.ggml.tokens is not a string`);
      if (text === '') text = `[EMPTY_${i}]`;
      this.texts[i] = text;
      this.idByText.set(text, i);
      this.scores[i] = data.scores ? data.scores[i]! : 0;
      this.attrs[i] = data.tokenTypes ? (ATTR_BY_TYPE[data.tokenTypes[i]!] ?? ATTR_UNDEFINED) : ATTR_NORMAL;
    }

    if (this.kind === 'bpe') {
      for (let i = 0; i < data.merges!.length; i++) {
        const line = data.merges![i]!;
        const space = line.indexOf(' ', 1);
        if (space < 0) continue;
        if (!this.mergeRanks.has(line)) this.mergeRanks.set(line, i);
      }
    }

    // Defaults per model, then the file's own values (llama.cpp's rules: an id outside the
    // vocabulary leaves the default in place).
    const spm = this.kind === 'spm';
    const id = (value: number | undefined, fallback: number | undefined, key: string): number | undefined => {
      const usable = fallback !== undefined && fallback < n ? fallback : undefined;
      if (value === undefined) return usable;
      if (!Number.isInteger(value) || value < 0 || value >= n) {
        this.warnings.push(`${key} = ${value} is outside the vocabulary of ${n} tokens; using ${usable ?? 'none'}`);
        return usable;
      }
      return value;
    };
    this.bosId = id(data.bosId, preSpec?.noBos ? undefined : spm ? 1 : 11, 'tokenizer.ggml.bos_token_id');
    this.eosId = id(data.eosId, spm ? 2 : 11, 'tokenizer.ggml.eos_token_id');
    this.unkId = id(data.unkId, spm ? 0 : undefined, 'tokenizer.ggml.unknown_token_id');
    this.padId = id(data.padId, undefined, 'tokenizer.ggml.padding_token_id');
    this.addBos = data.addBos ?? (spm || preSpec?.addBos === true);
    this.addEos = data.addEos ?? false;
    this.addSpacePrefix = spm ? (data.addSpacePrefix ?? true) : false;
    this.ignoreMerges = preSpec?.ignoreMerges === true;
    this.chatTemplate = data.chatTemplate;

    const eomId = id(data.eomId, undefined, 'tokenizer.ggml.eom_token_id');
    this.eotId =
      id(data.eotId, undefined, 'tokenizer.ggml.eot_token_id') ??
      EOT_TEXTS.map((text) => this.idByText.get(text)).find((i) => i !== undefined);
    for (let i = 0; i < n; i++) {
      if (!EOG_TEXTS.has(this.texts[i]!)) continue;
      this.attrs[i] = this.attrs[i]! | ATTR_CONTROL;
      this.eogIds.add(i);
    }
    for (const special of [this.eosId, this.eotId, eomId]) if (special !== undefined) this.eogIds.add(special);

    this.specialIds = [];
    for (let i = 0; i < n; i++) {
      if (this.attrs[i]! & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) this.specialIds.push(i);
    }
    const byteLength = this.specialIds.map((i) => Buffer.byteLength(this.texts[i]!));
    const order = this.specialIds.map((_, k) => k).sort((a, b) => byteLength[b]! - byteLength[a]! || a - b);
    this.specialIds = order.map((k) => this.specialIds[k]!);

    const name = (data.modelName ?? '').toLowerCase();
    if (name.includes('phi-3') || name.includes('phi3')) {
      for (const i of this.specialIds) this.attrs[i] = this.attrs[i]! | ATTR_RSTRIP;
      this.setAttr('</s>', ATTR_RSTRIP, true);
      for (const t of ['<unk>', '<s>', '<|endoftext|>']) this.setAttr(t, ATTR_RSTRIP, false);
    }
  }

  get size(): number {
    return this.texts.length;
  }

  private setAttr(text: string, attr: number, on: boolean): void {
    const i = this.idByText.get(text);
    if (i === undefined) return;
    this.attrs[i] = on ? this.attrs[i]! | attr : this.attrs[i]! & ~attr;
  }
}

function checkLength(values: ArrayLike<number> | undefined, n: number, key: string): void {
  if (values !== undefined && values.length < n) {
    throw new BadFileError(`${key} has ${values.length} entries for ${n} tokens`);
  }
}
