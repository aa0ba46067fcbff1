// The Tokenizer: text to token ids and back for the "llama" (SentencePiece) and "gpt2"
// (byte-level BPE) vocabularies of GGUF files, reproducing llama.cpp's token ids.
import { InvalidArgumentError } from '../errors.js';
import { invalid } from '../options.js';
import { BpeEncoder } from './bpe.js';
import { ATTR_CONTROL, ATTR_UNKNOWN, Vocab, type TokenizerData, type VocabKind } from './data.js';
import { createStreamDecoder, LeadingSpace, PieceTable, type DecodeOptions, type StreamDecoder } from './decoder.js';
import { SpecialSplitter } from './special.js';
import { SpmEncoder } from './spm.js';

export interface EncodeOptions {
  /** Put the BOS token first. Default: the vocabulary's `add_bos_token`. */
  addBos?: boolean;
  /** Put the EOS token last. Default: the vocabulary's `add_eos_token`. */
  addEos?: boolean;
  /**
   * Recognize control tokens written in the text (e.g. "<|eot_id|>" from a rendered chat
   * template). Default false: such text is tokenized as ordinary characters. User-defined
   * tokens are always recognized, as in llama.cpp.
   */
  parseSpecial?: boolean;
}

export class Tokenizer {
  /** "spm" for SentencePiece-style vocabularies, "bpe" for byte-level BPE. */
  readonly kind: VocabKind;
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** End of turn ("<|eot_id|>", "<|im_end|>", ...) where the vocabulary has one. */
  readonly eotId: number | undefined;
  readonly unkId: number | undefined;
  readonly padId: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** The Jinja chat template stored with the vocabulary (`tokenizer.chat_template`). */
  readonly chatTemplate: string | undefined;
  /** Metadata ignored as llama.cpp ignores it, e.g. a special token id outside the vocabulary. */
  readonly warnings: readonly string[];
  /** Every token at which generation ends (see isEog), in increasing order. */
  readonly eogIds: readonly number[];

  private readonly vocab: Vocab;
  private readonly encoder: SpmEncoder | BpeEncoder;
  private readonly specials: SpecialSplitter;
  private readonly pieces: PieceTable;

  /** Throws BadFileError / UnsupportedError for metadata it cannot use. */
  constructor(data: TokenizerData) {
    const vocab = new Vocab(data);
    this.vocab = vocab;
    this.kind = vocab.kind;
    this.vocabSize = vocab.size;
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.eotId = vocab.eotId;
    this.unkId = vocab.unkId;
    this.padId = vocab.padId;
    this.addBos = vocab.addBos;
    this.addEos = vocab.addEos;
    this.chatTemplate = vocab.chatTemplate;
    this.warnings = vocab.warnings;
    this.eogIds = [...vocab.eogIds].sort((a, b) => a - b);
    this.encoder = vocab.kind === 'spm' ? new SpmEncoder(vocab) : new BpeEncoder(vocab);
    this.specials = new SpecialSplitter(vocab);
    this.pieces = new PieceTable(vocab);
  }

  /** Token ids of `text`, as llama.cpp's llama_tokenize gives them. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw invalid('a string', 'text', text);
    const addBos = flag(options.addBos, 'addBos') ?? this.addBos;
    const addEos = flag(options.addEos, 'addEos') ?? this.addEos;
    const parseSpecial = flag(options.parseSpecial, 'parseSpecial') ?? false;

    const out: number[] = [];
    if (addBos) out.push(this.requireId(this.bosId, 'BOS'));
    const spm = this.kind === 'spm';
    // SentencePiece puts a space before text that starts the input or follows a special token.
    let afterSpecial = true;
    // Lone surrogates become U+FFFD, as in the UTF-8 that llama.cpp would be given.
    const wellFormed = (text as unknown as { toWellFormed(): string }).toWellFormed();
    for (const fragment of this.specials.split(wellFormed, parseSpecial)) {
      if (typeof fragment === 'number') {
        out.push(fragment);
        afterSpecial = true;
      } else if (spm) {
        const prefixed = this.vocab.addSpacePrefix && afterSpecial ? ` ${fragment}` : fragment;
        this.encoder.encode(prefixed.replaceAll(' ', '\u2581'), out);
        afterSpecial = false;
      } else {
        this.encoder.encode(fragment, out);
      }
    }
    if (addEos) out.push(this.requireId(this.eosId, 'EOS'));
    return out;
  }

  /** The text of token ids; a character cut off at the end (unfinished byte tokens) becomes U+FFFD. */
  decode(ids: readonly number[] | Int32Array | Uint32Array, options: DecodeOptions = {}): string {
    const special = flag(options.special, 'special') ?? false;
    const leading = this.leadingSpace(options, special);
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      this.checkId(id);
      const bytes = leading.apply(id, this.pieces.bytes(id, special));
      parts.push(bytes);
      total += bytes.length;
    }
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(joined);
  }

  /** A decoder for tokens that arrive one by one (generation); see DecodeOptions. */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const special = flag(options.special, 'special') ?? false;
    return createStreamDecoder(this.pieces, (id) => this.checkId(id), special, this.leadingSpace(options, special));
  }

  /** The text of one token as it appears in decoded output (special tokens rendered). */
  tokenToPiece(id: number, options: { special?: boolean } = {}): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.tokenToBytes(id, options));
  }

  /** The exact bytes of one token (a byte token is a single byte, maybe part of a character). */
  tokenToBytes(id: number, options: { special?: boolean } = {}): Uint8Array {
    this.checkId(id);
    return this.pieces.bytes(id, flag(options.special, 'special') ?? true).slice();
  }

  /** The token's entry in the vocabulary ("▁Hello", "ĠHello", "<0x0A>", "<|eot_id|>"). */
  tokenText(id: number): string {
    this.checkId(id);
    return this.vocab.texts[id]!;
  }

  /** The id of a token given its vocabulary text, if there is one. */
  tokenId(text: string): number | undefined {
    return this.vocab.idByText.get(text);
  }

  /** Whether generation ends at this token (EOS, end of turn, and the like). */
  isEog(id: number): boolean {
    return this.vocab.eogIds.has(id);
  }

  /** Whether the token is a control or unknown token (rendered empty unless asked for). */
  isSpecial(id: number): boolean {
    this.checkId(id);
    return (this.vocab.attrs[id]! & (ATTR_CONTROL | ATTR_UNKNOWN)) !== 0;
  }

  private leadingSpace(options: DecodeOptions, special: boolean): LeadingSpace {
    const strip = flag(options.stripLeadingSpace, 'stripLeadingSpace') ?? this.vocab.addSpacePrefix;
    return new LeadingSpace(strip, special ? undefined : this.bosId);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InvalidArgumentError(`Token id ${id} is outside the vocabulary of ${this.vocabSize} tokens`);
    }
  }

  private requireId(id: number | undefined, name: string): number {
    if (id === undefined) throw new InvalidArgumentError(`The vocabulary has no ${name} token to add`);
    return id;
  }
}

function flag(value: unknown, option: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalid('a boolean', option, value);
}
