// The tokenizer.* GGUF metadata of a Hugging Face folder: vocabulary, special tokens, add_bos/eos flags and chat template.
import { BadFileError } from '../errors.js';
import { type JsonObject, isObject, readIfExists, readJsonIfExists } from './hf-files.js';
import { type Vocab, bpeVocab, sentencePieceVocab } from './hf-vocab.js';
import { type GgufKV, kv } from './plan.js';

/** Special token kinds llama.cpp stores, with their GGUF key (cls has none). */
const SPECIAL_KEYS: Record<string, string> = {
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id',
  pad: 'tokenizer.ggml.padding_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
};
const ADD_KEYS: Record<string, string> = {
  bos: 'tokenizer.ggml.add_bos_token',
  eos: 'tokenizer.ggml.add_eos_token',
  sep: 'tokenizer.ggml.add_sep_token',
};

export interface TokenizerFiles {
  tokenizerModel?: Uint8Array;
  tokenizerJson?: unknown;
  tokenizerConfig?: JsonObject;
  specialTokensMap?: JsonObject;
  generationConfig?: JsonObject;
  addedTokensJson?: unknown;
  chatTemplateJinja?: string;
  chatTemplateJson?: unknown;
}

export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const obj = async (name: string) => {
    const v = await readJsonIfExists(dir, name);
    if (v !== undefined && !isObject(v)) throw new BadFileError(`${name}: expected a JSON object`);
    return v;
  };
  return {
    tokenizerModel: await readIfExists(dir, 'tokenizer.model'),
    tokenizerJson: await readJsonIfExists(dir, 'tokenizer.json'),
    tokenizerConfig: await obj('tokenizer_config.json'),
    specialTokensMap: await obj('special_tokens_map.json'),
    generationConfig: await obj('generation_config.json'),
    addedTokensJson: await readJsonIfExists(dir, 'added_tokens.json'),
    chatTemplateJinja: (await readIfExists(dir, 'chat_template.jinja'))?.toString('utf8'),
    chatTemplateJson: await readJsonIfExists(dir, 'chat_template.json'),
  };
}

/** The vocabulary llama.cpp's converter would pick: tokenizer.model first, else tokenizer.json. */
export function buildVocab(files: TokenizerFiles, vocabSize: number): Vocab {
  if (files.tokenizerModel) {
    const vocab = sentencePieceVocab(files.tokenizerModel, vocabSize, files.addedTokensJson, files.tokenizerConfig);
    if (isObject(files.tokenizerJson) && Array.isArray(files.tokenizerJson.added_tokens)) {
      vocab.added = bpeAddedTokens(files.tokenizerJson.added_tokens);
    }
    return vocab;
  }
  if (files.tokenizerJson !== undefined) return bpeVocab(files.tokenizerJson, vocabSize);
  throw new BadFileError('No tokenizer: the folder has neither tokenizer.model nor tokenizer.json');
}

function bpeAddedTokens(list: unknown[]): Vocab['added'] {
  return list.flatMap((t) =>
    isObject(t) && typeof t.id === 'number' && typeof t.content === 'string' ? [{ id: t.id, content: t.content, special: t.special === true }] : [],
  );
}

/** A special token entry of tokenizer_config.json / special_tokens_map.json: a string or {content}. */
function entryContent(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (isObject(entry) && typeof entry.content === 'string') return entry.content;
  return undefined;
}

/** add_bos / add_eos from tokenizer.json's TemplateProcessing post-processor (leading / trailing special tokens). */
function templateFlags(tokenizerJson: unknown, bosText: string | undefined, eosText: string | undefined): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.post_processor)) return flags;
  const pp = tokenizerJson.post_processor;
  const processors = Array.isArray(pp.processors) ? pp.processors : [pp];
  for (const p of processors) {
    if (!isObject(p) || p.type !== 'TemplateProcessing' || !Array.isArray(p.single) || p.single.length < 2) continue;
    const special = (item: unknown) => (isObject(item) && isObject(item.SpecialToken) && typeof item.SpecialToken.id === 'string' ? item.SpecialToken.id : undefined);
    const first = special(p.single[0]);
    const last = special(p.single[p.single.length - 1]);
    if (first !== undefined) flags.bos = bosText === undefined || first === bosText;
    if (last !== undefined) flags.eos = eosText === undefined || last === eosText;
  }
  return flags;
}

/** The tokenizer.* keys, in llama.cpp's order. */
export function tokenizerMetadata(files: TokenizerFiles, vocab: Vocab, config: JsonObject): GgufKV[] {
  const out: GgufKV[] = [];
  const tc = files.tokenizerConfig;
  if (typeof tc?.add_prefix_space === 'boolean' && vocab.model === 'llama') out.push(kv.bool('tokenizer.ggml.add_space_prefix', tc.add_prefix_space));
  out.push(kv.str('tokenizer.ggml.model', vocab.model), kv.str('tokenizer.ggml.pre', vocab.pre), kv.strings('tokenizer.ggml.tokens', vocab.tokens));
  if (vocab.scores) out.push(kv.f32s('tokenizer.ggml.scores', vocab.scores));
  out.push(kv.i32s('tokenizer.ggml.token_type', vocab.types));
  if (vocab.merges && vocab.merges.length > 0) out.push(kv.strings('tokenizer.ggml.merges', vocab.merges));

  // Special ids: the first source that names one wins (llama.cpp's order, then the files it does not read).
  const ids = new Map<string, number>();
  const set = (kind: string, id: unknown) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || ids.has(kind)) return;
    if (id < 0) throw new BadFileError(`Invalid ${kind} token id ${id}`);
    if (id < vocab.tokens.length) ids.set(kind, id);
  };
  const byContent = (text: string | undefined) => {
    if (text === undefined) return undefined;
    const added = vocab.added.find((t) => t.content === text);
    if (added) return added.id;
    const index = vocab.tokens.indexOf(text);
    return index >= 0 ? index : undefined;
  };
  const texts: Record<string, string | undefined> = {};
  for (const kind of [...Object.keys(SPECIAL_KEYS), 'cls']) {
    texts[kind] = entryContent(tc?.[`${kind}_token`]) ?? entryContent(files.specialTokensMap?.[`${kind}_token`]);
  }
  for (const kind of Object.keys(SPECIAL_KEYS)) set(kind, byContent(texts[kind]));
  for (const source of [config, files.generationConfig ?? {}]) {
    for (const kind of Object.keys(SPECIAL_KEYS)) {
      const v = source[`${kind}_token_id`];
      set(kind, Array.isArray(v) ? v[0] : v);
    }
  }
  for (const [kind, key] of Object.entries(SPECIAL_KEYS)) {
    const id = ids.get(kind);
    if (id !== undefined) out.push(kv.u32(key, id));
  }

  const add = templateFlags(files.tokenizerJson, texts.bos, texts.eos);
  for (const kind of Object.keys(ADD_KEYS)) if (typeof tc?.[`add_${kind}_token`] === 'boolean') add[kind] = tc[`add_${kind}_token`] as boolean;
  for (const [kind, key] of Object.entries(ADD_KEYS)) if (add[kind] !== undefined) out.push(kv.bool(key, add[kind]));

  out.push(...chatTemplateMetadata(files));
  return out;
}

/** tokenizer_config.json's chat_template (else chat_template.jinja / .json): one string, or named templates. */
function chatTemplateMetadata(files: TokenizerFiles): GgufKV[] {
  const fromJson = isObject(files.chatTemplateJson) ? files.chatTemplateJson.chat_template : undefined;
  const template = files.tokenizerConfig?.chat_template ?? files.chatTemplateJinja ?? fromJson;
  if (template === undefined || template === null) return [];
  if (typeof template === 'string') return [kv.str('tokenizer.chat_template', template)];
  if (!Array.isArray(template)) throw new BadFileError('tokenizer_config.json: chat_template is neither a string nor a list of {name, template}');
  const out: GgufKV[] = [];
  const names: string[] = [];
  let fallback: string | undefined;
  for (const choice of template) {
    if (!isObject(choice) || typeof choice.template !== 'string') continue;
    const name = String(choice.name ?? '').replace(/[^A-Za-z0-9]/g, '_');
    if (!name) continue;
    if (name === 'default') fallback = choice.template;
    else if (!names.includes(name)) {
      names.push(name);
      out.push(kv.str(`tokenizer.chat_template.${name}`, choice.template));
    }
  }
  if (names.length > 0) out.push(kv.strings('tokenizer.chat_templates', names));
  if (fallback !== undefined) out.push(kv.str('tokenizer.chat_template', fallback));
  return out;
}
