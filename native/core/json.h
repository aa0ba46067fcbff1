// A strict pull parser for untrusted JSON headers (safetensors): the caller walks the document and keeps
// only what it needs, so memory stays proportional to the useful content, never to the text's shape.
#pragma once

#include <cstdint>
#include <string>

namespace qinfer {

class JsonReader {
 public:
  // `name` prefixes error messages; every error is Error(E_BAD_FILE) naming the byte position.
  JsonReader(const char *text, uint64_t size, std::string name) : s_(text), n_(size), name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string &problem) const;

  // Objects: begin_object(), then while (next_member(key)) { read the value }.
  void begin_object();
  bool next_member(std::string &key);
  // Arrays: begin_array(), then while (next_item()) { read the item }.
  void begin_array();
  bool next_item();

  bool peek_object();
  bool peek_array();
  bool peek_string();
  std::string string_value();
  // A non-negative integer without fraction or exponent that fits in 64 bits.
  uint64_t uint_value();
  // Any JSON value, validated and discarded (nesting bounded by max_depth).
  void skip_value(int max_depth = 64);
  // Only whitespace may follow the document.
  void end();

 private:
  void skip_ws();
  char peek();
  std::string parse_string();
  void skip_number();
  void literal(const char *word);
  unsigned hex4();

  const char *s_;
  uint64_t n_;
  uint64_t i_ = 0;
  std::string name_;
  // Per open container: whether the first member/item has been read.
  bool first_ = true;
};

}  // namespace qinfer
