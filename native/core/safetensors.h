// safetensors headers: the 8-byte length, the JSON table of tensors, validated against the file size.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qinfer {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;            // as written: "F32", "BF16", "I8", ...
  std::vector<uint64_t> shape;  // PyTorch order
  uint64_t offset = 0;          // absolute file offset
  uint64_t bytes = 0;
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;  // 8 + header length
  std::vector<std::pair<std::string, std::string>> metadata;  // __metadata__, in file order
  std::vector<SafetensorsTensor> tensors;                     // in file order
};

constexpr uint64_t kSafetensorsMaxHeader = 100u << 20;  // the reference implementation's limit

// Element size of a safetensors dtype, 0 when unknown.
uint32_t safetensors_dtype_size(const std::string &dtype);

// Parses the JSON header (the bytes after the 8-byte length) of a file of `file_size` bytes; throws
// Error(E_BAD_FILE) naming the problem, or E_UNSUPPORTED for a dtype qinfer does not know.
SafetensorsHeader parse_safetensors_header(const char *json, uint64_t json_size, uint64_t file_size, const std::string &name);

// Reads and parses the header of a file (only the header is read).
SafetensorsHeader read_safetensors(const std::string &path);

}  // namespace qinfer
