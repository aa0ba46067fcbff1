// quantize(): a GGUF (F32/F16/BF16) or Hugging Face model into a quantized GGUF, by round-to-nearest,
// importance-weighted rounding (imatrix), GPTQ or AWQ (combinable: awq+gptq), with llama.cpp-style presets;
// or into qinfer's W8A8 (int8 weights with per-row scales, activations quantized per token at run time, or with
// scales fixed by calibration and stored in the file: W8A8 static, optionally after SmoothQuant).
import { readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { native } from './binding.js';
import { convert } from './convert.js';
import { InvalidArgumentError, IoError, UnsupportedError, throwIfAborted } from './errors.js';
import { findGgmlType } from './ggml-types.js';
import { type GgufFile, readGguf } from './gguf.js';
import { llamaHparams } from './model-spec.js';
import { awaitTask } from './native-task.js';
import { expectFunction, expectInteger, expectNumber, expectOneOf, expectSignal, expectString, invalid } from './options.js';
import { PRESETS, PURE_FORMATS, type PlannedTensor, type TensorOverride, isQuantizable, planTensorTypes } from './quant/presets.js';
import { readTokenFile } from './token-file.js';
import { tokenizerFromGguf } from './tokenizer/gguf.js';

export const QUANT_METHODS = ['rtn', 'imatrix', 'gptq', 'awq', 'w8a8-dynamic', 'w8a8-static'] as const;
export type QuantMethod = (typeof QUANT_METHODS)[number];

export const ACT_CALIBRATORS = ['minmax', 'percentile', 'mse', 'kl'] as const;
export type ActCalibrator = (typeof ACT_CALIBRATORS)[number];

export interface QuantizeRecipe {
  /** 'rtn' (default), 'imatrix', 'gptq', 'awq', or a combination joined by '+' (e.g. 'awq+gptq', 'awq+imatrix');
   * or 'w8a8-dynamic' or 'w8a8-static' alone (format 'w8a8'). */
  method?: string;
  /** 'w8a8' for the W8A8 methods; otherwise a llama.cpp preset (q8_0, q6_k, q5_k_m, q5_k_s, q5_0, q5_1, q4_k_m, q4_k_s, q4_0, q4_1, iq4_nl, iq4_xs, q3_k_l, q3_k_m, q3_k_s, q2_k, f16, bf16, f32) or a pure format (q5_k, q4_k, q3_k; qinfer's own q3_32, q2_32). */
  format?: string;
  /** Every weight matrix in the preset's base format, without llama.cpp's per-tensor mix (as llama-quantize --pure). */
  pure?: boolean;
  /** Per-tensor overrides, first match wins: a regular expression on the tensor name and a ggml format name. */
  tensorTypes?: Array<{ pattern: string | RegExp; format: string }>;
  gptq?: { damp?: number; actOrder?: boolean };
  awq?: { grid?: number };
  /** W8A8 static only: how each linear input's int8 scale is chosen from the calibration activations. */
  activations?: {
    /** 'minmax' (largest |x|, default), 'percentile', 'mse' (least quantization error) or 'kl' (TensorRT's entropy). */
    calibrator?: ActCalibrator;
    /** The percentile calibrator's share of |x| kept in range, in percent (default 99.99). */
    percentile?: number;
    /** SmoothQuant's migration strength in [0, 1]: s_j = max|X_j|^a / max|W_j|^(1-a) (default 0.75); false: no smoothing. */
    smoothAlpha?: number | false;
  };
}

export interface QuantizeCalibration {
  /** Calibration text, tokenized with the model's tokenizer. */
  text?: string;
  /** Token ids, used as they are. */
  tokens?: Int32Array | number[];
  /** A token file (.npy int32 or raw int32 .bin/.tokens) or a text file. */
  file?: string;
  /** Tokens used at most (default 16384). */
  maxTokens?: number;
  /** Tokens per calibration window (default 512). */
  context?: number;
}

export interface QuantizeProgress {
  stage: 'convert' | 'calibrate' | 'awq' | 'write';
  done: number;
  total: number;
}

export interface QuantizeOptions {
  input: string;
  output: string;
  recipe: QuantizeRecipe;
  calibration?: QuantizeCalibration;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: QuantizeProgress) => void;
  /** Receives each tensor whose type differs from the preset's base type, with the reason (llama.cpp logs these). */
  onTensorNote?: (t: PlannedTensor) => void;
}

export interface QuantizeResult {
  output: string;
  bytes: number;
  bitsPerWeight: number;
  seconds: number;
  peakRssBytes: number;
  tensors: Array<{ name: string; type: string }>;
  method: string;
  format: string;
  calibrationTokens: number;
  /** Tensors whose type differs from the preset's base type, and why. */
  notes: Array<{ name: string; type: string; reason: string }>;
  /** AWQ: the chosen alpha per layer and input (attention in, attention out, FFN in, FFN down in). */
  awqAlphas?: number[];
}

const DEFAULT_MAX_TOKENS = 16384;
const DEFAULT_CONTEXT = 512;
const FLOAT_TYPES = new Set([0, 1, 30]);

interface ParsedMethod {
  name: string;
  imatrix: boolean;
  gptq: boolean;
  awq: boolean;
  w8a8: boolean;
  w8a8Static: boolean;
}

const W8A8_TYPE = 1000;

function parseMethod(value: unknown): ParsedMethod {
  const name = value === undefined ? 'rtn' : expectString(value, 'recipe.method');
  const parts = name.split('+');
  const known = new Set<string>(QUANT_METHODS);
  const alone = parts.length > 1 && parts.some((p) => p === 'rtn' || p.startsWith('w8a8'));
  if (parts.some((p) => !known.has(p)) || new Set(parts).size !== parts.length || alone) {
    throw invalid(`a method (${QUANT_METHODS.join(', ')}, or a combination such as awq+gptq)`, 'recipe.method', value);
  }
  return {
    name,
    imatrix: parts.includes('imatrix'),
    gptq: parts.includes('gptq'),
    awq: parts.includes('awq'),
    w8a8: name.startsWith('w8a8'),
    w8a8Static: name === 'w8a8-static',
  };
}

const DEFAULT_PERCENTILE = 99.99;
// SmoothQuant's own recipe (max calibration after smoothing) with the alpha that measured best on gcide-llama-25m
// (README, W8A8 static): mean KL 0.0081 against 0.0108 at alpha 0.5 and 0.0384 without smoothing.
const DEFAULT_CALIBRATOR: ActCalibrator = 'minmax';
const DEFAULT_SMOOTH_ALPHA = 0.75;

/** recipe.activations, checked against the method: only W8A8 static calibrates activation scales. */
function parseActivations(
  value: QuantizeRecipe['activations'],
  method: ParsedMethod,
): { actCalibrator?: ActCalibrator; actPercentile?: number; smoothAlpha?: number } {
  if (value === undefined) {
    return method.w8a8Static ? { actCalibrator: DEFAULT_CALIBRATOR, actPercentile: DEFAULT_PERCENTILE, smoothAlpha: DEFAULT_SMOOTH_ALPHA } : {};
  }
  if (!method.w8a8Static) throw invalid('method w8a8-static', 'recipe.method (recipe.activations is set)', method.name);
  if (typeof value !== 'object' || value === null) throw invalid('an object {calibrator, percentile, smoothAlpha}', 'recipe.activations', value);
  const calibrator = value.calibrator === undefined ? DEFAULT_CALIBRATOR : expectOneOf(value.calibrator, ACT_CALIBRATORS, 'recipe.activations.calibrator');
  if (value.percentile !== undefined && calibrator !== 'percentile') {
    throw invalid("calibrator 'percentile'", 'recipe.activations.calibrator (recipe.activations.percentile is set)', calibrator);
  }
  const percentile = value.percentile === undefined ? DEFAULT_PERCENTILE : expectNumber(value.percentile, 'recipe.activations.percentile', 50, 100);
  const smoothAlpha =
    value.smoothAlpha === false ? undefined
    : value.smoothAlpha === undefined ? DEFAULT_SMOOTH_ALPHA
    : expectNumber(value.smoothAlpha, 'recipe.activations.smoothAlpha', 0, 1);
  return { actCalibrator: calibrator, actPercentile: percentile, smoothAlpha };
}

function parseOverrides(value: unknown): TensorOverride[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('an array of {pattern, format}', 'recipe.tensorTypes', value);
  return value.map((o, i) => {
    const at = `recipe.tensorTypes[${i}]`;
    if (typeof o !== 'object' || o === null) throw invalid('an object {pattern, format}', at, o);
    const { pattern, format } = o as { pattern: unknown; format: unknown };
    let re: RegExp;
    if (pattern instanceof RegExp) re = pattern;
    else {
      try {
        re = new RegExp(expectString(pattern, `${at}.pattern`));
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw err;
        throw invalid('a valid regular expression', `${at}.pattern`, pattern);
      }
    }
    const type = findGgmlType(expectString(format, `${at}.format`));
    if (!type || !native().quantFormats().some((f) => f.type === type.id && f.weighted)) {
      throw invalid('a format qinfer can quantize to (e.g. q4_0, q4_k, q6_k, q8_0, f16)', `${at}.format`, format);
    }
    return { pattern: re, type: type.id };
  });
}

/** Calibration tokens in windows of `context`, each starting with BOS when tokenizing text. */
async function calibrationTokens(cal: QuantizeCalibration, model: GgufFile, methods: string): Promise<{ tokens: Int32Array; context: number }> {
  const context = cal.context === undefined ? DEFAULT_CONTEXT : expectInteger(cal.context, 'calibration.context', 2, 1 << 16);
  const maxTokens = cal.maxTokens === undefined ? DEFAULT_MAX_TOKENS : expectInteger(cal.maxTokens, 'calibration.maxTokens', 1);
  const windows = Math.max(1, Math.floor(maxTokens / context));
  let tokens: Int32Array;
  let text = cal.text;
  if (cal.tokens !== undefined) {
    if (!(cal.tokens instanceof Int32Array) && !Array.isArray(cal.tokens)) throw invalid('an Int32Array or an array of token ids', 'calibration.tokens', cal.tokens);
    tokens = Int32Array.from(cal.tokens);
  } else if (cal.file !== undefined) {
    const file = expectString(cal.file, 'calibration.file');
    if (/\.(npy|bin|tokens)$/i.test(file)) tokens = await readTokenFile(file);
    else {
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new IoError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
    }
    tokens ??= new Int32Array(0);
  } else if (text === undefined) {
    throw new InvalidArgumentError(`Expected calibration text or tokens for option calibration but received nothing (method ${methods} needs activations)`);
  } else {
    tokens = new Int32Array(0);
  }
  if (text !== undefined) {
    if (typeof text !== 'string') throw invalid('a string', 'calibration.text', text);
    const tokenizer = tokenizerFromGguf(model);
    // Dictionary-like text runs about 4 bytes a token: tokenize a generous prefix only.
    const ids = tokenizer.encode(text.slice(0, windows * context * 8), { addBos: false });
    const bos = tokenizer.bosId;
    const body = bos === undefined ? context : context - 1;
    const n = Math.min(windows, Math.floor(ids.length / body));
    tokens = new Int32Array(n * context);
    for (let w = 0; w < n; w++) {
      const dst = w * context;
      if (bos !== undefined) tokens[dst] = bos;
      tokens.set(ids.slice(w * body, (w + 1) * body), dst + (bos === undefined ? 0 : 1));
    }
  } else {
    tokens = tokens.subarray(0, Math.min(tokens.length, windows * context) - (Math.min(tokens.length, windows * context) % context));
  }
  if (tokens.length < context) {
    throw new InvalidArgumentError(
      `Expected calibration data of at least one window of ${context} tokens for option calibration but received ${tokens.length === 0 ? 'none' : 'less'} (method ${methods})`,
    );
  }
  return { tokens, context };
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Quantizes a model file; the output is written through a temporary file and renamed when complete. */
export async function quantize(options: QuantizeOptions): Promise<QuantizeResult> {
  const started = performance.now();
  if (typeof options !== 'object' || options === null) throw invalid('an object', 'options', options);
  const input = expectString(options.input, 'input');
  const output = expectString(options.output, 'output');
  if (resolve(input) === resolve(output)) throw invalid('an output path other than the input', 'output', output);
  const signal = expectSignal(options.signal);
  const onProgress = expectFunction<(p: QuantizeProgress) => void>(options.onProgress, 'onProgress');
  const onTensorNote = expectFunction<(t: PlannedTensor) => void>(options.onTensorNote, 'onTensorNote');
  const recipe = options.recipe;
  if (typeof recipe !== 'object' || recipe === null) throw invalid('an object {method, format}', 'recipe', recipe);
  const method = parseMethod(recipe.method);
  const format = method.w8a8 && recipe.format === undefined ? 'w8a8' : expectString(recipe.format, 'recipe.format').toLowerCase();
  if (method.w8a8 !== (format === 'w8a8')) throw invalid(method.w8a8 ? `format 'w8a8' for method ${method.name}` : 'the w8a8-dynamic or w8a8-static method for format w8a8', method.w8a8 ? 'recipe.format' : 'recipe.method', method.w8a8 ? recipe.format : recipe.method);
  const activations = parseActivations(recipe.activations, method);
  // W8A8 quantizes every matrix except the token embedding (looked up by row, never multiplied).
  const preset = method.w8a8 ? PRESETS.f32 : PRESETS[format] ?? PURE_FORMATS[format];
  if (!preset) throw invalid(`a preset or format (${[...Object.keys(PRESETS), ...Object.keys(PURE_FORMATS)].join(', ')})`, 'recipe.format', recipe.format);
  const overrides = parseOverrides(recipe.tensorTypes);
  const damp = recipe.gptq?.damp === undefined ? undefined : expectNumber(recipe.gptq.damp, 'recipe.gptq.damp', 0, 1);
  const awqGrid = recipe.awq?.grid === undefined ? undefined : expectInteger(recipe.awq.grid, 'recipe.awq.grid', 1, 100);
  const threads = options.threads === undefined ? undefined : expectInteger(options.threads, 'threads', 0, 1024);
  throwIfAborted(signal);

  let source = input;
  let temp: string | undefined;
  try {
    let info;
    try {
      info = await stat(input);
    } catch (err) {
      throw new IoError(`cannot read ${input}: ${(err as Error).message}`, { cause: err });
    }
    if (info.isDirectory()) {
      temp = join(dirname(resolve(output)), `.${basename(output)}.source-${process.pid}.gguf`);
      await convert({
        input,
        output: temp,
        signal,
        onProgress: onProgress && ((p) => onProgress({ stage: 'convert', done: p.bytesDone, total: p.bytesTotal })),
      });
      source = temp;
    }
    const model = await readGguf(source, { signal });
    for (const t of model.tensors) {
      if (isQuantizable(t) && !FLOAT_TYPES.has(t.type)) {
        throw new UnsupportedError(`${input}: tensor "${t.name}" is already ${t.typeName}; quantize from an F32, F16 or BF16 model`);
      }
    }
    const hparams = llamaHparams(model);
    const needsCalibration = method.imatrix || method.gptq || method.awq || method.w8a8Static;
    const plan: PlannedTensor[] = method.w8a8 ? model.tensors.map((t) => ({ name: t.name, type: isQuantizable(t) && t.name !== 'token_embd.weight' ? W8A8_TYPE : t.type })) : planTensorTypes(model.tensors, {
      preset: format,
      pure: recipe.pure === true || format in PURE_FORMATS,
      hasImatrix: needsCalibration,
      nHead: hparams.nHead,
      nHeadKv: hparams.nHeadKv,
      overrides,
    });
    for (const p of plan) if (p.reason) onTensorNote?.(p);
    const cal = needsCalibration ? await calibrationTokens(options.calibration ?? {}, model, method.name) : undefined;
    throwIfAborted(signal);
    const report = await awaitTask(
      native().quantizeModel(
        {
          input: source,
          output,
          types: Int32Array.from(plan.map((p) => p.type)),
          metadata: [
            ...(method.w8a8 ? [] : [{ key: 'general.file_type', type: 'u32' as const, value: preset.fileType }]),
            { key: 'general.quantization_version', type: 'u32', value: 2 },
            { key: 'qinfer.quantization.method', type: 'string', value: method.name },
            ...(method.w8a8Static ? [{ key: 'qinfer.quantization.act_calibrator', type: 'string' as const, value: activations.actCalibrator! }] : []),
          ],
          method: {
            imatrix: method.imatrix,
            gptq: method.gptq,
            awq: method.awq,
            damp,
            actOrder: recipe.gptq?.actOrder === true,
            awqGrid,
            w8a8Static: method.w8a8Static,
            ...activations,
          },
          calibration: cal?.tokens,
          context: cal?.context,
          hparams: needsCalibration ? hparams : undefined,
          threads,
        },
        onProgress && ((stage, done, total) => onProgress({ stage, done, total })),
      ),
      signal,
    );
    const written = await readGguf(output, { signal });
    let elements = 0;
    let dataBytes = 0;
    for (const t of written.tensors) {
      elements += t.shape.reduce((a, b) => a * b, 1);
      dataBytes += t.bytes;
    }
    return {
      output,
      bytes: report.bytes,
      bitsPerWeight: elements ? (dataBytes * 8) / elements : 0,
      seconds: (performance.now() - started) / 1000,
      peakRssBytes: peakRss(),
      tensors: written.tensors.map((t) => ({ name: t.name, type: t.typeName })),
      method: method.name,
      format,
      calibrationTokens: report.calibrationTokens,
      notes: plan.filter((p) => p.reason).map((p) => ({ name: p.name, type: findGgmlType(p.type)?.name ?? String(p.type), reason: p.reason! })),
      ...(method.awq ? { awqAlphas: [...report.awqAlphas] } : {}),
    };
  } finally {
    if (temp) await rm(temp, { force: true });
  }
}
