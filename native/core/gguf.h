// GGUF model files: metadata values, tensor infos, the validating parser and the memory-mapped file handle.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mapped-file.h"

namespace qinfer {

// GGUF metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
constexpr uint32_t kGgufTypeCount = 13;
constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read little-endian
constexpr uint32_t kGgufDefaultAlignment = 32;
constexpr uint32_t kGgufMaxDims = 4;         // ggml's GGML_MAX_DIMS
constexpr int kGgufMaxArrayDepth = 8;        // nested arrays deeper than this are refused (bounded recursion)

const char *gguf_type_name(GgufType t);      // "u8" ... "array"
// Bytes of one element of a fixed-size type; 0 for STRING and ARRAY.
uint32_t gguf_type_size(GgufType t);

struct GgufValue {
  GgufType type = GgufType::U8;
  // Scalars: unsigned types in u, signed in i, floats in f, bool in u (0/1).
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string str;
  // Arrays: element type and count; fixed-size elements kept as their little-endian bytes.
  GgufType elem_type = GgufType::U8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;
  std::vector<std::string> strings;
  std::vector<GgufValue> items;  // arrays of arrays
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  int32_t type = 0;
  uint32_t n_dims = 0;
  uint64_t ne[kGgufMaxDims] = {1, 1, 1, 1};  // ggml order: ne[0] is the contiguous dimension
  uint64_t offset = 0;                        // absolute file offset of the data
  uint64_t bytes = 0;
  uint64_t elements = 0;
};

// What the parser extracts; offsets are absolute, everything validated against the byte range.
struct GgufContents {
  uint32_t version = 0;
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t data_offset = 0;  // start of the data section (aligned end of the tensor infos)
  uint64_t file_size = 0;
  std::vector<GgufKv> metadata;
  std::vector<GgufTensorInfo> tensors;
  std::unordered_map<std::string, size_t> key_index;
  std::unordered_map<std::string, size_t> tensor_index;

  const GgufValue *find(const std::string &key) const;
  const GgufTensorInfo *find_tensor(const std::string &name) const;
  // Typed getters for model code: any integer type converts when it fits, floats from f32/f64.
  std::optional<uint64_t> get_uint(const std::string &key) const;
  std::optional<double> get_float(const std::string &key) const;
  const std::string *get_string(const std::string &key) const;
};

// Parses GGUF v2/v3 from bytes; throws Error(E_BAD_FILE) naming the problem (prefixed with `name`), or
// Error(E_ABORTED) when *abort becomes true. Never reads outside [data, data+size).
GgufContents parse_gguf(const uint8_t *data, uint64_t size, const std::string &name,
                        const std::atomic<bool> *abort = nullptr);

// A GGUF file mapped into memory: tensor data pointers stay valid for the object's lifetime.
class GgufFile {
 public:
  static std::shared_ptr<GgufFile> open(const std::string &path, const std::atomic<bool> *abort = nullptr);

  const GgufContents &contents() const { return contents_; }
  const std::string &path() const { return map_.path(); }
  const std::vector<GgufTensorInfo> &tensors() const { return contents_.tensors; }
  const std::vector<GgufKv> &metadata() const { return contents_.metadata; }
  const GgufTensorInfo *find_tensor(const std::string &name) const { return contents_.find_tensor(name); }
  const uint8_t *tensor_data(const GgufTensorInfo &t) const { return map_.data() + t.offset; }
  // Throws Error(E_BAD_FILE) when the file has no tensor of that name.
  const uint8_t *tensor_data(const std::string &name) const;

  GgufFile(const std::string &path, const std::atomic<bool> *abort);  // use open()

 private:
  MappedFile map_;
  GgufContents contents_;
};

}  // namespace qinfer
