// Bounds-checked little-endian reads over an untrusted byte range: every length is compared with what is left before use.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "error.h"

namespace qinfer {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "model files are little-endian; a big-endian host needs byte swaps");

// True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(const char *s, uint64_t n);

class ByteCursor {
 public:
  // `name` prefixes error messages (the file path).
  ByteCursor(const uint8_t *data, uint64_t size, std::string name) : data_(data), size_(size), name_(std::move(name)) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  const std::string &name() const { return name_; }
  const uint8_t *here() const { return data_ + pos_; }

  [[noreturn]] void fail(const std::string &problem) const {
    throw Error(QINFER_E_BAD_FILE, name_ + ": " + problem);
  }

  // Throws a BAD_FILE naming `what` unless n bytes remain.
  void need(uint64_t n, const std::string &what) const {
    if (n > remaining())
      fail("truncated: " + what + " needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
           " but the file ends at " + std::to_string(size_));
  }

  template <typename T>
  T read(const std::string &what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  void skip(uint64_t n, const std::string &what) {
    need(n, what);
    pos_ += n;
  }

  // A length-prefixed (u64) byte string; the length is checked against the file before anything is allocated.
  std::string read_string(const std::string &what) {
    uint64_t len = read<uint64_t>(what + " length");
    if (len > remaining())
      fail(what + " claims " + std::to_string(len) + " bytes at offset " + std::to_string(pos_) + " but only " +
           std::to_string(remaining()) + " remain in the file");
    std::string s(reinterpret_cast<const char *>(data_ + pos_), size_t(len));
    pos_ += len;
    return s;
  }

 private:
  const uint8_t *data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string name_;
};

// a * b, or false on 64-bit overflow.
inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_mul_overflow(a, b, out); }
inline bool add_overflows(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_add_overflow(a, b, out); }

// The first two tensors (anything with offset, bytes) whose non-empty byte ranges overlap, in
// offset order; {nullptr, nullptr} when they are disjoint. Ranges must already be inside the file.
template <typename Tensor>
std::pair<const Tensor *, const Tensor *> find_overlap(const std::vector<Tensor> &tensors) {
  std::vector<const Tensor *> order;
  for (const Tensor &t : tensors)
    if (t.bytes) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const Tensor *a, const Tensor *b) { return a->offset < b->offset; });
  for (size_t k = 1; k < order.size(); k++)
    if (order[k]->offset < order[k - 1]->offset + order[k - 1]->bytes) return {order[k - 1], order[k]};
  return {nullptr, nullptr};
}

}  // namespace qinfer
