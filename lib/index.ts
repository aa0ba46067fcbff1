// qinfer's public API.
export * from './errors.js';
export { probe, type ProbeResult, type BackendProbe, type CpuProbe, type DeviceProbe } from './probe.js';
export { BACKEND_NAMES, type BackendName, type BackendChoice } from './backend.js';
export { openBackend, type OpenedBackend } from './backend-open.js';
export { createSampler, resolveSampling, type Sampler, type SamplingOptions } from './sampling.js';
export { Tokenizer, type EncodeOptions } from './tokenizer/tokenizer.js';
export type { DecodeOptions, StreamDecoder } from './tokenizer/decoder.js';
export type { TokenizerData } from './tokenizer/data.js';
export { tokenizerDataFromGguf, tokenizerFromGguf, loadTokenizer } from './tokenizer/gguf.js';
export { renderChat, ChatTemplateError, type ChatMessage, type RenderChatOptions } from './tokenizer/chat.js';
