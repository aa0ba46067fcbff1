// Writing GGUF: metadata and tensor infos as llama.cpp lays them out, then tensor data streamed from
// files or memory (converted between F32/F16/BF16 on the way), into a temp file renamed when complete.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf.h"

namespace qinfer {

enum class SourceDtype { F32, F16, BF16, RAW };

struct TensorSource {
  enum class Kind { FILE, DATA, PRODUCED } kind = Kind::DATA;
  // FILE: bytes at an absolute offset of a file, stored as dtype (RAW: already the output type).
  std::string path;
  uint64_t offset = 0;
  SourceDtype dtype = SourceDtype::RAW;
  // Rows of a Q/K projection in Hugging Face's rotate-half order are reordered per head into GGUF's
  // interleaved order when nonzero (the head count of that projection).
  uint32_t permute_heads = 0;
  // DATA: bytes of the output type, borrowed until write_gguf returns.
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  // PRODUCED: fills all of the tensor's bytes (of the output type) when the writer reaches it, so a
  // quantizer holds one tensor at a time.
  std::function<void(uint8_t *dst, uint64_t bytes)> produce;
};

struct GgufWriteTensor {
  std::string name;
  int32_t type = 0;
  std::vector<uint64_t> shape;  // ggml order
  TensorSource source;
};

struct GgufWriteSpec {
  std::string path;
  uint32_t alignment = 0;  // 0: general.alignment from the metadata, else 32
  uint32_t version = 3;
  std::vector<GgufKv> metadata;
  std::vector<GgufWriteTensor> tensors;
};

struct GgufWriteProgress {
  uint64_t tensors_done = 0, tensors_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
};

using GgufProgressFn = std::function<void(const GgufWriteProgress &)>;

// Validates the spec (Error(E_INVALID_ARGUMENT) naming the problem), writes, fsyncs and renames into
// place; returns the file size. On any error or abort the temp file is removed and the target untouched.
uint64_t write_gguf(const GgufWriteSpec &spec, const std::atomic<bool> *abort, const GgufProgressFn &progress);

// The bytes of one metadata value as GGUF stores it after the key (type tag included).
void append_gguf_value(std::vector<uint8_t> &out, const GgufValue &v);

}  // namespace qinfer
