// The forward-pass ops of the backend ABI on the CPU: operand checks, then the C++ operators.
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread-pool.h"
#include "cpu-buffer.h"
#include "kernels.h"
#include "matmul.h"
#include "ops.h"

namespace qinfer::cpu {

uint8_t *buffer_span(const qinfer_buffer *b, uint64_t offset, uint64_t bytes, const char *what) {
  if (!b || offset > b->size || bytes > b->size - offset)
    throw Error(QINFER_E_INVALID_ARGUMENT, std::string(what) + ": operand out of bounds");
  return b->data + offset;
}

namespace {

float *f32(const qinfer_op &op, int i, uint64_t n, const char *what) {
  return reinterpret_cast<float *>(buffer_span(op.src[i], op.src_offset[i], n * 4, what));
}
float *dst_f32(const qinfer_op &op, uint64_t n, const char *what) {
  return reinterpret_cast<float *>(buffer_span(op.dst, op.dst_offset, n * 4, what));
}
int32_t *i32(const qinfer_op &op, int i, uint64_t n, const char *what) {
  return reinterpret_cast<int32_t *>(buffer_span(op.src[i], op.src_offset[i], n * 4, what));
}

void positive(const qinfer_op &op, int count, const char *what) {
  for (int i = 0; i < count; i++)
    if (op.ne[i] <= 0) throw Error(QINFER_E_INVALID_ARGUMENT, std::string(what) + ": every dimension must be positive");
}

}  // namespace

void run_model_op(const Kernels &k, const qinfer_op &op) {
  const uint64_t n0 = uint64_t(op.ne[0]), n1 = uint64_t(op.ne[1]), n2 = uint64_t(op.ne[2]);
  switch (op.op) {
    case QINFER_OP_MATMUL: {
      positive(op, 3, "matmul");
      uint64_t row = type_row_bytes(op.type, op.ne[0]);
      const uint8_t *w = buffer_span(op.src[0], op.src_offset[0], row * n1, "matmul");
      matmul(k, default_thread_pool(), op.type, w, op.ne[1], op.ne[0], f32(op, 1, n0 * n2, "matmul"), op.ne[0], op.ne[2],
             dst_f32(op, n1 * n2, "matmul"), op.ne[1]);
      return;
    }
    case QINFER_OP_GET_ROWS: {
      positive(op, 3, "get_rows");
      uint64_t row = type_row_bytes(op.type, op.ne[0]);
      get_rows(op.type, buffer_span(op.src[0], op.src_offset[0], row * n1, "get_rows"), op.ne[1], op.ne[0],
               i32(op, 1, n2, "get_rows"), op.ne[2], dst_f32(op, n0 * n2, "get_rows"));
      return;
    }
    case QINFER_OP_RMS_NORM: {
      positive(op, 2, "rms_norm");
      const float *w = op.src[1] ? f32(op, 1, n0, "rms_norm") : nullptr;
      rms_norm(k, f32(op, 0, n0 * n1, "rms_norm"), w, dst_f32(op, n0 * n1, "rms_norm"), op.ne[1], op.ne[0], op.params[0]);
      return;
    }
    case QINFER_OP_ROPE: {
      positive(op, 4, "rope");
      RopeParams p;
      p.head_dim = op.ne[0];
      p.n_dims = op.ne[3];
      p.freq_base = op.params[0];
      p.freq_scale = op.params[1];
      p.neox = op.params[2] != 0;
      p.ext_factor = op.params[3];
      p.attn_factor = op.params[4];
      p.corr_low = op.params[5];
      p.corr_high = op.params[6];
      if (op.src[2]) p.freq_factors = f32(op, 2, uint64_t(op.ne[3] / 2), "rope");
      const uint64_t n = n0 * n1 * n2;
      float *x = f32(op, 0, n, "rope"), *y = dst_f32(op, n, "rope");
      if (y != x) std::copy(x, x + n, y);
      rope(y, op.ne[2], op.ne[1], i32(op, 1, n2, "rope"), p);
      return;
    }
    case QINFER_OP_SOFTMAX: {
      positive(op, 2, "softmax");
      float *x = f32(op, 0, n0 * n1, "softmax"), *y = dst_f32(op, n0 * n1, "softmax");
      if (y != x) std::copy(x, x + n0 * n1, y);
      softmax(k, y, op.ne[1], op.ne[0]);
      return;
    }
    case QINFER_OP_SILU_MUL: {
      positive(op, 1, "silu_mul");
      silu_mul(k, f32(op, 0, n0, "silu_mul"), f32(op, 1, n0, "silu_mul"), dst_f32(op, n0, "silu_mul"), op.ne[0]);
      return;
    }
    case QINFER_OP_ARGMAX: {
      positive(op, 2, "argmax");
      const float *x = f32(op, 0, n0 * n1, "argmax");
      auto *y = reinterpret_cast<int32_t *>(buffer_span(op.dst, op.dst_offset, n1 * 4, "argmax"));
      for (uint64_t r = 0; r < n1; r++) y[r] = int32_t(argmax(x + r * n0, op.ne[0]));
      return;
    }
    case QINFER_OP_ATTENTION: {
      positive(op, 4, "attention");
      AttentionShape s;
      s.head_dim = op.ne[0];
      s.n_heads = op.ne[1];
      s.n_kv_heads = op.ne[3];
      s.kv_type = op.type;
      s.scale = op.params[0];
      s.head_stride = int64_t(op.params[1]);
      uint64_t cache = type_row_bytes(op.type, s.head_dim) * uint64_t(s.n_kv_heads) * uint64_t(s.head_stride);
      std::vector<AttentionQuery> queries(static_cast<size_t>(n2));
      const int32_t *n_kv = i32(op, 3, n2, "attention");
      for (uint64_t t = 0; t < n2; t++)
        queries[t] = {buffer_span(op.src[1], op.src_offset[1], cache, "attention"),
                      buffer_span(op.src[2], op.src_offset[2], cache, "attention"), n_kv[t]};
      attention(k, default_thread_pool(), f32(op, 0, n0 * n1 * n2, "attention"), op.ne[2], queries.data(), s,
                dst_f32(op, n0 * n1 * n2, "attention"));
      return;
    }
    case QINFER_OP_KV_STORE: {
      positive(op, 4, "kv_store");
      AttentionShape s;
      s.head_dim = op.ne[0];
      s.n_kv_heads = op.ne[1];
      s.n_heads = op.ne[1];
      s.kv_type = op.type;
      s.head_stride = op.ne[3];
      const uint64_t row = type_row_bytes(op.type, s.head_dim);
      uint8_t *cache = buffer_span(op.dst, op.dst_offset, row * n1 * uint64_t(op.ne[3]), "kv_store");
      const int32_t *pos = i32(op, 1, n2, "kv_store");
      std::vector<void *> dst(static_cast<size_t>(n2));
      for (uint64_t t = 0; t < n2; t++) {
        if (pos[t] < 0 || pos[t] >= op.ne[3]) throw Error(QINFER_E_INVALID_ARGUMENT, "kv_store: a position lies outside the cache");
        dst[t] = cache + uint64_t(pos[t]) * row;
      }
      kv_store(f32(op, 0, n0 * n1 * n2, "kv_store"), op.ne[2], s, dst.data());
      return;
    }
    case QINFER_OP_ADD_ROWS: {
      positive(op, 2, "add_rows");
      const float *x = f32(op, 0, n0 * n1, "add_rows"), *bias = f32(op, 1, n0, "add_rows");
      float *y = dst_f32(op, n0 * n1, "add_rows");
      for (uint64_t r = 0; r < n1; r++) k.add_f32(x + r * n0, bias, y + r * n0, op.ne[0]);
      return;
    }
    case QINFER_OP_COPY: {
      positive(op, 2, "copy");
      if ((n0 | uint64_t(op.ne[2]) | uint64_t(op.ne[3]) | op.src_offset[0] | op.dst_offset) % 4 || op.ne[2] < op.ne[0] || op.ne[3] < op.ne[0])
        throw Error(QINFER_E_INVALID_ARGUMENT, "copy: sizes, strides and offsets must be multiples of 4 bytes, strides at least a row");
      const uint64_t src_span = uint64_t(op.ne[2]) * (n1 - 1) + n0, dst_span = uint64_t(op.ne[3]) * (n1 - 1) + n0;
      const uint8_t *from = buffer_span(op.src[0], op.src_offset[0], src_span, "copy");
      uint8_t *to = buffer_span(op.dst, op.dst_offset, dst_span, "copy");
      for (uint64_t r = 0; r < n1; r++) std::memcpy(to + r * uint64_t(op.ne[3]), from + r * uint64_t(op.ne[2]), n0);
      return;
    }
    default: throw Error(QINFER_E_UNSUPPORTED, "op " + std::to_string(op.op) + " is not implemented by the CPU backend");
  }
}

}  // namespace qinfer::cpu
