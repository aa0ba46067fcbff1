// Tensor data for the GGUF writer: source files opened once, sources checked before writing starts,
// and each tensor streamed chunk by chunk (dtype conversion and RoPE row permutation on the way).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "gguf-writer.h"
#include "output-file.h"

namespace qinfer {

class SourceFiles {
 public:
  SourceFiles() = default;
  ~SourceFiles();
  SourceFiles(const SourceFiles &) = delete;
  SourceFiles &operator=(const SourceFiles &) = delete;

  // Opens (once) and returns the descriptor; size() is the file's length.
  int open(const std::string &path);
  uint64_t size(const std::string &path);
  // Reads exactly n bytes at offset or throws Error(E_IO / E_BAD_FILE if the file shrank).
  void read(const std::string &path, uint64_t offset, void *dst, uint64_t n);

 private:
  struct Entry { int fd; uint64_t size; };
  std::map<std::string, Entry> files_;
};

// Element geometry of a tensor for streaming: output bytes, and the layout used for permutation.
struct TensorLayout {
  uint64_t elements = 0;
  uint64_t out_bytes = 0;
  uint64_t row_elements = 0;  // elements per permuted row (1 for a 1-D tensor)
  uint64_t rows = 0;
};

// Throws Error(E_INVALID_ARGUMENT) when the source cannot provide the tensor (sizes, dtypes, range).
void check_tensor_source(const GgufWriteTensor &t, const TensorLayout &layout, SourceFiles &files);

void stream_tensor(const GgufWriteTensor &t, const TensorLayout &layout, SourceFiles &files, OutputFile &out,
                   const std::atomic<bool> *abort, const std::function<void(uint64_t)> &on_bytes);

}  // namespace qinfer
