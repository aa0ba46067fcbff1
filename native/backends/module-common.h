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

// Checks that every operand of `op` lies inside its buffer (backend.h gives each op's shapes);
// `size_of(buffer)` gives a buffer's size in bytes. Returns "" when the op is well formed, else why not.
template <class SizeOf>
std::string op_bounds_error(const qinfer_op &op, SizeOf size_of) {
  auto inside = [&](qinfer_buffer *b, uint64_t offset, uint64_t bytes) { return b && fits(size_of(b), offset, bytes); };
  auto src = [&](int i, uint64_t bytes) { return inside(op.src[i], op.src_offset[i], bytes); };
  auto dst = [&](uint64_t bytes) { return inside(op.dst, op.dst_offset, bytes); };
  auto positive = [&](int n) {
    for (int i = 0; i < n; i++)
      if (op.ne[i] <= 0) return false;
    return true;
  };
  const uint64_t n0 = uint64_t(op.ne[0]), n1 = uint64_t(op.ne[1]), n2 = uint64_t(op.ne[2]), n3 = uint64_t(op.ne[3]);
  const std::string name = "op " + std::to_string(op.op);
  switch (op.op) {
    case QINFER_OP_ADD_F32:
      if (op.ne[0] < 0) return "add_f32: negative length";
      return src(0, n0 * 4) && src(1, n0 * 4) && dst(n0 * 4) ? "" : "add_f32: operand out of bounds";
    case QINFER_OP_MATVEC:
    case QINFER_OP_MATMUL:
    case QINFER_OP_GET_ROWS: {
      const bool matvec = op.op == QINFER_OP_MATVEC;
      if (!positive(matvec ? 2 : 3)) return name + ": every dimension must be positive";
      uint64_t rb = row_bytes(op.type, op.ne[0]);
      if (rb == 0) return name + ": " + std::to_string(n0) + " columns are not whole blocks of type " + std::to_string(op.type);
      uint64_t tokens = matvec ? 1 : n2;
      bool ok = op.op == QINFER_OP_GET_ROWS ? src(0, rb * n1) && src(1, n2 * 4) && dst(n0 * n2 * 4)
                                            : src(0, rb * n1) && src(1, n0 * tokens * 4) && dst(n1 * tokens * 4);
      return ok ? "" : name + ": operand out of bounds";
    }
    case QINFER_OP_RMS_NORM:
      if (!positive(2)) return "rms_norm: every dimension must be positive";
      return src(0, n0 * n1 * 4) && (!op.src[1] || src(1, n0 * 4)) && dst(n0 * n1 * 4) ? "" : "rms_norm: operand out of bounds";
    case QINFER_OP_ROPE:
      if (!positive(4)) return "rope: every dimension must be positive";
      if (op.ne[3] > op.ne[0] || op.ne[3] % 2) return "rope: rotated dimensions must be even and at most the head size";
      return src(0, n0 * n1 * n2 * 4) && src(1, n2 * 4) && (!op.src[2] || src(2, n3 / 2 * 4)) && dst(n0 * n1 * n2 * 4)
                 ? ""
                 : "rope: operand out of bounds";
    case QINFER_OP_SOFTMAX:
      if (!positive(2)) return "softmax: every dimension must be positive";
      return src(0, n0 * n1 * 4) && dst(n0 * n1 * 4) ? "" : "softmax: operand out of bounds";
    case QINFER_OP_SILU_MUL:
      if (!positive(1)) return "silu_mul: the length must be positive";
      return src(0, n0 * 4) && src(1, n0 * 4) && dst(n0 * 4) ? "" : "silu_mul: operand out of bounds";
    case QINFER_OP_ARGMAX:
      if (!positive(2)) return "argmax: every dimension must be positive";
      return src(0, n0 * n1 * 4) && dst(n1 * 4) ? "" : "argmax: operand out of bounds";
    case QINFER_OP_ATTENTION: {
      if (!positive(4) || op.params[1] < 1) return "attention: every dimension and the cache stride must be positive";
      if (op.ne[1] % op.ne[3]) return "attention: the query heads must be a multiple of the cache heads";
      uint64_t rb = row_bytes(op.type, op.ne[0]), cache = rb * n3 * uint64_t(op.params[1]);
      if (rb == 0) return "attention: the head size is not whole blocks of the cache type";
      return src(0, n0 * n1 * n2 * 4) && src(1, cache) && src(2, cache) && src(3, n2 * 4) && dst(n0 * n1 * n2 * 4)
                 ? ""
                 : "attention: operand out of bounds";
    }
    case QINFER_OP_KV_STORE: {
      if (!positive(4)) return "kv_store: every dimension must be positive";
      uint64_t rb = row_bytes(op.type, op.ne[0]);
      if (rb == 0) return "kv_store: the head size is not whole blocks of the cache type";
      return src(0, n0 * n1 * n2 * 4) && src(1, n2 * 4) && dst(rb * n1 * n3) ? "" : "kv_store: operand out of bounds";
    }
    case QINFER_OP_ADD_ROWS:
      if (!positive(2)) return "add_rows: every dimension must be positive";
      return src(0, n0 * n1 * 4) && src(1, n0 * 4) && dst(n0 * n1 * 4) ? "" : "add_rows: operand out of bounds";
    case QINFER_OP_COPY: {
      if (!positive(2) || op.ne[2] < op.ne[0] || op.ne[3] < op.ne[0]) return "copy: sizes must be positive and strides at least a row";
      if ((n0 | n2 | n3 | op.src_offset[0] | op.dst_offset) % 4) return "copy: sizes, strides and offsets must be multiples of 4 bytes";
      const uint64_t src_span = n2 * (n1 - 1) + n0, dst_span = n3 * (n1 - 1) + n0;
      if (!src(0, src_span) || !dst(dst_span)) return "copy: operand out of bounds";
      if (op.src[0] == op.dst && op.src_offset[0] < op.dst_offset + dst_span && op.dst_offset < op.src_offset[0] + src_span)
        return "copy: source and destination overlap";
      return "";
    }
    default: return name + " is not implemented";
  }
}

}  // namespace qinfer::module
