// Helpers every GPU backend module shares: the thread's last error, JSON text for probe fields, operand bounds checks.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>

#include "qinfer/backend.h"
#include "qinfer/ggml-types.h"

namespace qinfer::module {

// The message behind the status a vtable call returned (backend.h: last_error is per thread).
inline std::string &last_error() {
  thread_local std::string message;
  return message;
}

inline int fail(int status, const std::string &message) {
  last_error() = message;
  return status;
}

// printf into a fixed-size reason buffer; never overflows, always terminated.
inline void write_reason(char *out, size_t len, const char *fmt, ...) {
  if (!out || len == 0) return;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(out, len, fmt, ap);
  va_end(ap);
}

inline std::string json_string(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

// Copies `json` into a vtable's output buffer; fails rather than hand back a truncated object.
inline int write_json(char *out, size_t len, const std::string &json) {
  if (json.size() + 1 > len) return fail(QINFER_E_INTERNAL, "probe details do not fit in " + std::to_string(len) + " bytes");
  std::snprintf(out, len, "%s", json.c_str());
  return QINFER_OK;
}

// Whether [offset, offset + bytes) lies inside a buffer of `size` bytes (no overflow).
inline bool fits(uint64_t size, uint64_t offset, uint64_t bytes) { return offset <= size && bytes <= size - offset; }

// Bytes of a row of `cols` elements of ggml type `type`; 0 when the type is unknown or `cols`
// is not a whole number of blocks.
inline uint64_t row_bytes(int32_t type, int64_t cols) {
  const qinfer_type_traits *t = qinfer_type_traits_of(type);
  if (!t || !t->name || cols < 0 || cols % t->block_size != 0) return 0;
  return uint64_t(cols / t->block_size) * uint64_t(t->type_size);
}

// Checks that every operand of `op` lies inside its buffer; `size_of(buffer)` gives a buffer's
// size in bytes. Returns an empty string when the op is well formed, else why it is not.
template <class SizeOf>
std::string op_bounds_error(const qinfer_op &op, SizeOf size_of) {
  auto inside = [&](qinfer_buffer *b, uint64_t offset, uint64_t bytes) {
    return b && fits(size_of(b), offset, bytes);
  };
  switch (op.op) {
    case QINFER_OP_ADD_F32: {
      if (op.ne[0] < 0) return "add_f32: negative length";
      uint64_t bytes = uint64_t(op.ne[0]) * 4;
      if (!inside(op.src[0], op.src_offset[0], bytes) || !inside(op.src[1], op.src_offset[1], bytes) ||
          !inside(op.dst, op.dst_offset, bytes))
        return "add_f32: operand out of bounds";
      return "";
    }
    case QINFER_OP_MATVEC: {
      int64_t cols = op.ne[0], rows = op.ne[1];
      if (cols <= 0 || rows <= 0) return "matvec: the shape must be positive";
      uint64_t rb = row_bytes(op.type, cols);
      if (rb == 0) return "matvec: " + std::to_string(cols) + " columns are not whole blocks of type " + std::to_string(op.type);
      if (!inside(op.src[0], op.src_offset[0], rb * uint64_t(rows)) || !inside(op.src[1], op.src_offset[1], uint64_t(cols) * 4) ||
          !inside(op.dst, op.dst_offset, uint64_t(rows) * 4))
        return "matvec: operand out of bounds";
      return "";
    }
    default: return "op " + std::to_string(op.op) + " is not implemented";
  }
}

}  // namespace qinfer::module
