// The whole native surface, typed once; loads the addon with node-gyp-build and hands it the JS error classes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BackendUnavailableError, errorClassesByCode } from './errors.js';

export interface NativeCpuInfo {
  vendor: string;
  model: string;
  logicalCores: number;
  physicalCores: number;
  l1dBytes: number;
  l2Bytes: number;
  l3Bytes: number;
  memoryBytes: number;
  isaSupported: 'generic' | 'avx2' | 'avx512' | 'avx512vnni';
  features: Record<string, boolean>;
}

export interface NativeDeviceInfo {
  index: number;
  name: string;
  memoryBytes: number;
  freeMemoryBytes: number;
  detailsJson: string;
}

export interface NativeBackendProbe {
  name: string;
  available: boolean;
  reason?: string;
  infoJson?: string;
  devices: NativeDeviceInfo[];
}

export interface NativeBackend {
  addF32(a: Float32Array, b: Float32Array): Float32Array;
  matvec(type: number, weights: Uint8Array, rows: number, cols: number, x: Float32Array): Float32Array;
  supportsOp(op: number, type: number): boolean;
  /** Any ABI op (qinfer_op_code): each source in its own buffer; returns dstBytes of the result. */
  run(op: number, type: number, sources: Array<ArrayBufferView | null>, dstBytes: number, ne: number[], params: number[]): Uint8Array;
}

/** A format the reference code computes (ggml type id and geometry). */
export interface NativeQuantFormat {
  type: number;
  name: string;
  blockSize: number;
  typeSize: number;
  /** Format the activations are quantized to for dot products; null for activation formats. */
  vecDotType: number | null;
  /** Whether an importance-weighted quantizer exists (false for activation formats). */
  weighted: boolean;
}

export interface NativeSamplerHandle {
  sample(logits: Float32Array): number;
  accept(token: number): void;
  reset(): void;
}

export interface NativeGgmlType {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
}

/** A native background job (see lib/gguf.ts awaitTask). */
export interface NativeTask<T> {
  promise: Promise<T>;
  abort(): void;
}

export interface NativeGgufContents {
  version: number;
  alignment: number;
  dataOffset: number;
  fileSize: number;
  metadata: import('./gguf.js').GgufKV[];
  tensors: import('./gguf.js').GgufTensorInfo[];
}

export interface NativeRequestSummary {
  finishReason: string;
  promptTokens: number;
  reusedTokens: number;
  generatedTokens: number;
  promptSeconds: number;
  generationSeconds: number;
  /** Evaluations: rows of the vocabulary size. */
  logits?: Float32Array;
}

export interface ModelMemory {
  fileBytes: number;
  weightBytes: number;
  /** Weight bytes now in RAM (the weights stay memory-mapped from the file). */
  residentWeightBytes: number;
  kvCacheBytes: number;
  residentKvCacheBytes: number;
  scratchBytes: number;
  /** Device memory the model holds on a GPU backend (weights, KV cache and scratch); 0 on the CPU. */
  deviceBytes: number;
}

export interface ModelStats {
  /** Forward passes so far. */
  batches: number;
  tokens: number;
  maxSequencesInBatch: number;
  threads: number;
}

export interface NativeModelHandle {
  prefetch(onProgress?: (done: number, total: number) => void): Promise<void>;
  cancelPrefetch(): void;
  submit(
    kind: 'evaluate' | 'generate',
    tokens: Int32Array,
    options: Record<string, unknown>,
    /** A generated token (err null, summary undefined), then once the end (token -1, summary or err). */
    onEvent: (err: Error | null, token: number, summary: NativeRequestSummary | undefined) => void,
  ): number;
  abort(id: number): void;
  /** While held, submitted requests wait, so that requests submitted together share batches. */
  hold(on: boolean): void;
  memory(): ModelMemory;
  stats(): ModelStats;
  close(): void;
}

export interface NativeBinding {
  setErrorClasses(classes: Record<string, unknown>): void;
  cpuInfo(): NativeCpuInfo;
  probeBackend(name: string, modulePath?: string): NativeBackendProbe;
  NativeBackend: new (name: string, modulePath?: string) => NativeBackend;
  quantFormats(): NativeQuantFormat[];
  /** Quantizes x (rows of `cols`) with round-to-nearest, or the importance-weighted search given imatrix (cols entries). */
  quantizeRows(type: number, x: Float32Array, cols: number, imatrix?: Float32Array): Uint8Array;
  /** quantizeRows off the JS thread, rows split over the thread pool; abort() rejects with AbortError. */
  quantizeRowsAsync(
    type: number,
    x: Float32Array,
    cols: number,
    imatrix?: Float32Array,
  ): { promise: Promise<Uint8Array>; abort(): void };
  dequantizeRows(type: number, bytes: Uint8Array, n: number): Float32Array;
  /** Dot product of quantized weights with x, x first quantized to the format's activation type. */
  vecDot(type: number, bytes: Uint8Array, x: Float32Array): number;
  NativeSampler: new (options: Record<string, number>) => NativeSamplerHandle;
  /** The CPU kernel level in use now (QINFER_CPU_ISA is read on every call). */
  cpuKernelIsa(): 'generic' | 'avx2' | 'avx512' | 'avx512vnni';
  /** y[t * rows + r] = W row r . x token t, on the default thread pool (tests; synchronous). */
  cpuMatmul(type: number, weights: Uint8Array, rows: number, cols: number, x: Float32Array, nTokens: number): Float32Array;
  /** W8A8 product; actScale > 0 quantizes the tokens with that fixed scale (W8A8 static), else each with its own. */
  cpuMatmulW8a8(weights: Int8Array, scales: Float32Array, rows: number, cols: number, x: Float32Array, nTokens: number, actScale?: number): Float32Array;
  /** The clipping threshold a W8A8 static activation calibrator picks for these values (see native/quant/act-calibrators.h). */
  actCalibrationClip(values: Float32Array, calibrator: string, percentile?: number): number;
  /** Drives a fresh ThreadPool of `threads` (tests): see native/napi/thread-pool-probe.cc. */
  threadPoolProbe(options: { threads: number; jobs: number; n: number; grain: number; throwAt: number }): {
    hits: Int32Array;
    runIndexes: number[];
    osThreads: number;
    error?: string;
  };
  /** One CPU forward-pass operator on small inputs (tests; synchronous); see native/napi/cpu-ops.cc. */
  cpuOp(name: 'rmsNorm', args: { x: Float32Array; n: number; eps: number; weight?: Float32Array }): Float32Array;
  cpuOp(
    name: 'rope',
    args: {
      x: Float32Array;
      positions: Int32Array;
      headDim: number;
      nDims: number;
      neox: boolean;
      freqBase: number;
      freqScale: number;
      freqFactors?: Float32Array;
      /** YaRN: 0 (the default) turns it off. */
      extFactor?: number;
      /** Factor on cos and sin (default 1). */
      attnFactor?: number;
      /** YaRN's correction range [low, high] (pair indices). */
      corrDims?: [number, number];
    },
  ): Float32Array;
  /** YaRN's correction range [low, high] as the model computes it (native/core/llama-model.h yarn_corr_dims). */
  cpuOp(name: 'yarnCorrDims', args: { nRot: number; nCtxOrig: number; freqBase: number; betaFast: number; betaSlow: number }): [number, number];
  cpuOp(name: 'softmax', args: { x: Float32Array; n: number }): Float32Array;
  cpuOp(name: 'siluMul', args: { gate: Float32Array; up: Float32Array }): Float32Array;
  cpuOp(name: 'getRows', args: { type: number; table: Uint8Array; rows: number; cols: number; ids: Int32Array }): Float32Array;
  cpuOp(name: 'argmax', args: { x: Float32Array }): number;
  cpuOp(name: 'topK', args: { x: Float32Array; k: number }): number[];
  cpuOp(
    name: 'attention',
    args: { q: Float32Array; k: Float32Array; v: Float32Array; nKv: Int32Array; nHeads: number; nKvHeads: number; headDim: number; kvType: number; headStride: number; scale: number },
  ): Float32Array;
  /** One kernel benchmark measurement, run in a worker thread. */
  cpuKernelBench(request: NativeBandwidthRequest): Promise<{ bytesPerSecond: number }>;
  cpuKernelBench(request: NativeMatmulBenchRequest): Promise<NativeBenchTiming>;
  ggmlTypes(): NativeGgmlType[];
  NativeModel: new (spec: Record<string, unknown>) => NativeModelHandle;
  /** Per-row scores of `targets.length` rows of logits; kl/top1/refNll with reference logits. */
  logitStats(
    logits: Float32Array,
    nVocab: number,
    targets: Int32Array,
    ref?: Float32Array,
  ): NativeTask<{ nll: Float64Array; kl?: Float64Array; top1?: Uint8Array; refNll?: Float64Array }>;
  ggufRead(path: string): NativeTask<NativeGgufContents>;
  safetensorsRead(path: string): NativeTask<Omit<import('./safetensors.js').SafetensorsFile, 'path'>>;
  ggufWrite(
    spec: import('./gguf.js').GgufWriteSpec,
    onProgress?: (p: import('./gguf.js').GgufWriteProgress) => void,
  ): NativeTask<number>;
  /** Quantizes a GGUF model tensor by tensor (see native/quant/quantize-model.h). */
  quantizeModel(job: NativeQuantizeJob, onProgress?: (stage: 'calibrate' | 'awq' | 'write', done: number, total: number) => void): NativeTask<{
    bytes: number;
    calibrationTokens: number;
    awqAlphas: Float32Array;
  }>;
}

export interface NativeQuantizeJob {
  input: string;
  output: string;
  /** Output ggml type of each input tensor, in file order. */
  types: Int32Array;
  metadata: Array<{ key: string; type: 'u32'; value: number } | { key: string; type: 'string'; value: string }>;
  method: {
    imatrix: boolean;
    gptq: boolean;
    awq: boolean;
    damp?: number;
    actOrder?: boolean;
    awqGrid?: number;
    /** W8A8 static: calibrator name, its percentile, and SmoothQuant's alpha (absent: no smoothing). */
    w8a8Static?: boolean;
    actCalibrator?: string;
    actPercentile?: number;
    smoothAlpha?: number;
  };
  calibration?: Int32Array;
  context?: number;
  samples?: number;
  hparams?: import('./model-spec.js').LlamaHparams;
  threads?: number;
}

export interface NativeBandwidthRequest {
  kind: 'bandwidth';
  threads: number;
  bytes: number;
  reps: number;
}

export interface NativeMatmulBenchRequest {
  kind: 'matmul';
  threads: number;
  isa: string;
  type: number;
  rows: number;
  cols: number;
  batch: number;
  minSeconds: number;
  /** Reuse one copy of the weights (cache-resident when it fits) instead of cycling copies through memory. */
  resident?: boolean;
}

export interface NativeBenchTiming {
  bestSeconds: number;
  medianSeconds: number;
  repetitions: number;
  /** Bytes of weights one product reads. */
  bytes: number;
}

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const require = createRequire(import.meta.url);
let cached: { binding: NativeBinding; path: string } | undefined;

function load(): { binding: NativeBinding; path: string } {
  if (cached) return cached;
  const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
  let path: string;
  try {
    path = nodeGypBuild.path(packageRoot);
  } catch (err) {
    throw new BackendUnavailableError(
      `qinfer's native addon is not built for ${process.platform}-${process.arch} (node ${process.version}); ` +
        'run `npm rebuild qinfer` with cmake and a C++17 compiler installed',
      { cause: err },
    );
  }
  const binding = require(path) as NativeBinding;
  binding.setErrorClasses(errorClassesByCode);
  cached = { binding, path };
  return cached;
}

export function native(): NativeBinding {
  return load().binding;
}

/** The addon file; GPU modules and the build manifest sit beside it. */
export function addonPath(): string {
  return load().path;
}
