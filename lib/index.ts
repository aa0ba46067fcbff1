// qinfer's public API.
export * from './errors.js';
export { probe, type ProbeResult, type BackendProbe, type CpuProbe, type DeviceProbe } from './probe.js';
export { BACKEND_NAMES, type BackendName, type BackendChoice } from './backend.js';
export { openBackend, type OpenedBackend } from './backend-open.js';
export { createSampler, resolveSampling, type Sampler, type SamplingOptions } from './sampling.js';
export {
  readGguf,
  writeGguf,
  getMetadata,
  ggufWriteSpecOf,
  type GgufFile,
  type GgufKV,
  type GgufValue,
  type GgufValueType,
  type GgufTensorInfo,
  type GgufWriteSpec,
  type GgufWriteTensor,
  type GgufWriteOptions,
  type GgufWriteProgress,
  type TensorSource,
} from './gguf.js';
export { readSafetensors, type SafetensorsFile, type SafetensorsTensor, type SafetensorsDtype } from './safetensors.js';
export { inspectModel, type ModelReport, type InspectTensor, type TokenizerSummary } from './inspect.js';
export { ggmlTypes, findGgmlType, tensorBytes, GGML_TYPE, type GgmlType } from './ggml-types.js';
export { loadModel, Model, type LoadModelOptions, type EvaluateOptions, type ModelMemory, type ModelStats } from './model.js';
export { Generation, type GenerateOptions, type GeneratedToken, type GenerationSummary, type FinishReason } from './generation.js';
export { llamaHparams, type LlamaHparams } from './model-spec.js';
export { convert, type ConvertOptions, type ConvertResult, type ConvertProgress, type ConvertType } from './convert.js';
export { Tokenizer, type EncodeOptions } from './tokenizer/tokenizer.js';
export type { DecodeOptions, StreamDecoder } from './tokenizer/decoder.js';
export type { TokenizerData } from './tokenizer/data.js';
export { tokenizerDataFromGguf, tokenizerFromGguf, loadTokenizer } from './tokenizer/gguf.js';
export { renderChat, ChatTemplateError, type ChatMessage, type RenderChatOptions } from './tokenizer/chat.js';
export {
  quantize,
  QUANT_METHODS,
  type QuantMethod,
  type QuantizeOptions,
  type QuantizeRecipe,
  type QuantizeCalibration,
  type QuantizeProgress,
  type QuantizeResult,
} from './quantize.js';
export { runDemo, DEMO_FORMATS, DEMO_MODEL, type DemoOptions, type DemoResult, type DemoRow } from './demo.js';
