// A Hugging Face model folder (config.json, safetensors single or sharded, tokenizer files) -> a GGUF conversion plan.
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import { BadFileError, IoError, UnsupportedError } from '../errors.js';
import { readSafetensors } from '../safetensors.js';
import { hfConfigMetadata, llama3RopeFactors, parseHfConfig } from './hf-config.js';
import { isObject, readJsonIfExists } from './hf-files.js';
import { type SourceTensor, planHfTensors } from './hf-tensors.js';
import { buildVocab, readTokenizerFiles, tokenizerMetadata } from './hf-tokenizer.js';
import { type ConvertPlan, FILE_TYPE, GGML_TYPE, type OutputType, type PlannedTensor, elements, kv, sizeLabel } from './plan.js';

const INDEX_FILE = 'model.safetensors.index.json';

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    throw new IoError(`Cannot list ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Every tensor of the folder's safetensors file(s), by name; a sharded model's index must match its shards exactly. */
export async function indexSafetensors(dir: string): Promise<Map<string, SourceTensor>> {
  const index = await readJsonIfExists(dir, INDEX_FILE);
  let shards: string[];
  let weightMap: Record<string, unknown> | undefined;
  if (index !== undefined) {
    if (!isObject(index) || !isObject(index.weight_map)) throw new BadFileError(`${INDEX_FILE}: no "weight_map" object`);
    weightMap = index.weight_map;
    for (const [name, file] of Object.entries(weightMap)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) throw new BadFileError(`${INDEX_FILE}: tensor ${name} names a bad file ${JSON.stringify(file)}`);
    }
    shards = [...new Set(Object.values(weightMap) as string[])].sort();
  } else {
    const files = await listDir(dir);
    shards = files.filter((f) => f.startsWith('model') && f.endsWith('.safetensors')).sort();
    if (shards.length === 0) {
      if (files.some((f) => f.endsWith('.bin') || f.endsWith('.pt') || f.endsWith('.pth'))) {
        throw new UnsupportedError(`${dir} holds PyTorch pickle weights: only safetensors checkpoints can be converted`);
      }
      throw new BadFileError(`${dir} has no model*.safetensors file`);
    }
  }
  const tensors = new Map<string, SourceTensor>();
  for (const shard of shards) {
    const path = join(dir, shard);
    const st = await readSafetensors(path);
    for (const t of st.tensors) {
      if (tensors.has(t.name)) throw new BadFileError(`Tensor ${t.name} appears in both ${basename(tensors.get(t.name)!.file)} and ${shard}`);
      if (weightMap && weightMap[t.name] !== shard) {
        throw new BadFileError(`${shard} holds tensor ${t.name}, which ${INDEX_FILE} ${weightMap[t.name] === undefined ? 'does not list' : `places in ${String(weightMap[t.name])}`}`);
      }
      tensors.set(t.name, { name: t.name, file: path, dtype: t.dtype, shape: t.shape, offset: t.offset, bytes: t.bytes });
    }
  }
  if (weightMap) {
    const missing = Object.keys(weightMap).filter((n) => !tensors.has(n));
    const first = missing[0];
    if (first !== undefined) throw new BadFileError(`${INDEX_FILE} lists ${missing.length} tensor(s) its shards lack, first ${first} in ${String(weightMap[first])}`);
  }
  return tensors;
}

const SOURCE_TYPES: Record<string, OutputType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

export async function planHfFolder(dir: string, requestedType: OutputType | undefined): Promise<ConvertPlan> {
  const configJson = await readJsonIfExists(dir, 'config.json');
  if (configJson === undefined) throw new BadFileError(`${dir} is not a Hugging Face model folder: config.json is missing`);
  const config = parseHfConfig(configJson);
  const source = await indexSafetensors(dir);
  // Without an explicit type, keep the checkpoint's own precision (llama.cpp's "auto").
  const type = requestedType ?? SOURCE_TYPES[source.get('model.embed_tokens.weight')?.dtype ?? ''] ?? 'f16';
  const tensors: PlannedTensor[] = planHfTensors(config, source, type);
  const factors = llama3RopeFactors(config);
  if (factors) {
    tensors.unshift({ name: 'rope_freqs.weight', type: GGML_TYPE.f32, shape: [factors.length], source: { kind: 'data', data: new Uint8Array(factors.buffer) } });
  }
  const files = await readTokenizerFiles(dir);
  const vocab = buildVocab(files, config.vocabSize);
  const parameters = tensors.reduce((sum, t) => sum + elements(t.shape), 0);
  const a = config.architecture;
  const metadata = [
    kv.str('general.architecture', a),
    kv.str('general.type', 'model'),
    kv.str('general.name', basename(resolve(dir))),
    kv.str('general.size_label', sizeLabel(parameters)),
    ...hfConfigMetadata(config),
    kv.u32('general.file_type', FILE_TYPE[type]),
    kv.u32('general.quantization_version', 2),
    ...tokenizerMetadata(files, vocab, config.hparams),
  ];
  return { sourceKind: 'Hugging Face folder', architecture: a, metadata, tensors };
}
