// inspect for Hugging Face model folders: config.json, the safetensors shards and the tokenizer files.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { indexSafetensors } from './import/hf-model.js';
import { type JsonObject, isObject, readJsonIfExists } from './import/hf-files.js';
import { buildVocab, readTokenizerFiles, tokenizerMetadata } from './import/hf-tokenizer.js';
import { BadFileError, QinferError } from './errors.js';
import { type InspectTensor, type JsonValue, type ModelReport, type TokenizerSummary, summarize, tokenizerSummary } from './inspect.js';

/** The tokenizer as a conversion would store it (llama.cpp's tokenizer.* keys), summarized. */
async function hfTokenizer(dir: string, config: JsonObject): Promise<TokenizerSummary | null> {
  const files = await readTokenizerFiles(dir);
  if (!files.tokenizerModel && files.tokenizerJson === undefined) return null;
  try {
    const vocabSize = typeof config.vocab_size === 'number' ? config.vocab_size : 0;
    return tokenizerSummary({ metadata: tokenizerMetadata(files, buildVocab(files, vocabSize), config) });
  } catch (err) {
    if (err instanceof QinferError) return { error: err.message };
    throw err;
  }
}

/** config.json's scalar entries, with nested RoPE settings flattened ("rope_scaling.factor"). */
function hyperparameters(config: JsonObject): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === null || ['number', 'string', 'boolean'].includes(typeof v)) out[k] = v as JsonValue;
    else if (isObject(v) && k.startsWith('rope'))
      for (const [k2, v2] of Object.entries(v)) if (['number', 'string', 'boolean'].includes(typeof v2)) out[`${k}.${k2}`] = v2 as JsonValue;
  }
  return out;
}

/** The report of a Hugging Face model folder (sharded or not). */
export async function hfFolderReport(dir: string): Promise<ModelReport> {
  const config = await readJsonIfExists(dir, 'config.json');
  if (config === undefined) throw new BadFileError(`${dir} is not a Hugging Face model folder: config.json is missing`);
  if (!isObject(config)) throw new BadFileError(`${dir}/config.json is not a JSON object`);
  const source = await indexSafetensors(dir);
  const tensors: InspectTensor[] = [...source.values()].map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, bytes: t.bytes, file: basename(t.file) }));
  const files = [...new Set([...source.values()].map((t) => t.file))];
  let fileSize = 0;
  for (const f of files) fileSize += (await stat(f)).size;
  const archs = config.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : typeof config.model_type === 'string' ? config.model_type : null;
  return {
    format: 'huggingface',
    path: dir,
    architecture,
    fileSize,
    hyperparameters: hyperparameters(config),
    tokenizer: await hfTokenizer(dir, config),
    metadata: config as Record<string, JsonValue>,
    tensors,
    ...summarize(tensors),
  };
}
