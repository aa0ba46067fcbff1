// Causal grouped-query attention over a head-major KV cache: the scores of a query group are one
// matrix product of the cache head (rows = positions) with the group's query heads (tokens).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "matmul.h"
#include "ops.h"
#include "quant/reference.h"

namespace qinfer::cpu {
namespace {

void check_shape(const AttentionShape &s) {
  if (s.n_heads <= 0 || s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads || s.head_dim <= 0)
    throw Error(QINFER_E_INVALID_ARGUMENT, "attention: the query heads must be a positive multiple of the cache heads");
  if (s.kv_type != QINFER_TYPE_F32 && s.kv_type != QINFER_TYPE_F16 && s.kv_type != QINFER_TYPE_Q8_0)
    throw Error(QINFER_E_UNSUPPORTED, "attention: the KV cache must be F32, F16 or Q8_0");
}

// One cache row as floats.
void load_row(const Kernels &k, int32_t type, const uint8_t *row, float *out, int64_t n) {
  if (type == QINFER_TYPE_F32) std::memcpy(out, row, size_t(n) * 4);
  else if (type == QINFER_TYPE_F16) k.f16_to_f32(reinterpret_cast<const qinfer_half *>(row), out, n);
  else quant::quant_traits(type)->dequantize(row, out, n);
}

}  // namespace

uint64_t kv_row_bytes(int32_t kv_type, int64_t head_dim) { return type_row_bytes(kv_type, head_dim); }

void kv_store(const float *src, int64_t n, const AttentionShape &s, void *const *dst) {
  check_shape(s);
  const uint64_t row = kv_row_bytes(s.kv_type, s.head_dim);
  const quant::QuantTraits *t = quant::quant_traits(s.kv_type);
  for (int64_t i = 0; i < n; i++)
    for (int64_t h = 0; h < s.n_kv_heads; h++)
      t->quantize(src + (i * s.n_kv_heads + h) * s.head_dim,
                  static_cast<uint8_t *>(dst[i]) + uint64_t(h) * uint64_t(s.head_stride) * row, s.head_dim);
}

void attention(const Kernels &k, ThreadPool &pool, const float *q, int64_t n, const AttentionQuery *queries,
               const AttentionShape &s, float *out) {
  check_shape(s);
  if (!matmul_supported(k, s.kv_type)) throw Error(QINFER_E_UNSUPPORTED, "attention: no product kernel for the cache type");
  const GemmKernel &gk = k.gemm[s.kv_type];
  const int64_t group = s.n_heads / s.n_kv_heads, d = s.head_dim;
  const uint64_t row = kv_row_bytes(s.kv_type, d);
  const size_t act_stride = (gk.act_bytes(d) + 63) & ~size_t(63);
  for (int64_t t = 0; t < n; t++)
    if (queries[t].n_kv <= 0 || queries[t].n_kv > s.head_stride)
      throw Error(QINFER_E_INVALID_ARGUMENT, "attention: a query must see between 1 and head_stride cache positions");

  pool.parallel_for(n * s.n_kv_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<uint8_t> act;
    thread_local std::vector<float> scores, vrow;
    for (int64_t task = b; task < e; task++) {
      const int64_t t = task / s.n_kv_heads, kvh = task % s.n_kv_heads, n_kv = queries[t].n_kv;
      const float *qg = q + (t * s.n_heads + kvh * group) * d;
      float *og = out + (t * s.n_heads + kvh * group) * d;
      const uint64_t head_offset = uint64_t(kvh) * uint64_t(s.head_stride) * row;
      act.resize(act_stride * size_t(group) + 64);
      scores.resize(size_t(group * n_kv));
      vrow.resize(size_t(d));
      uint8_t *a = reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(act.data()) + 63) & ~uintptr_t(63));
      for (int64_t h = 0; h < group; h++) gk.quantize_act(qg + h * d, a + size_t(h) * act_stride, d);

      GemmArgs g{};
      g.w = static_cast<const uint8_t *>(queries[t].k) + head_offset;
      g.w_stride = row;
      g.act = a;
      g.act_stride = act_stride;
      g.y = scores.data();
      g.ldy = n_kv;
      g.cols = d;
      gk.gemm(g, 0, n_kv, 0, group);
      for (int64_t h = 0; h < group; h++) k.scale_f32(s.scale, scores.data() + h * n_kv, n_kv);
      softmax(k, scores.data(), group, n_kv);

      std::memset(og, 0, sizeof(float) * size_t(group * d));
      const uint8_t *v = static_cast<const uint8_t *>(queries[t].v) + head_offset;
      for (int64_t p = 0; p < n_kv; p++) {
        load_row(k, s.kv_type, v + uint64_t(p) * row, vrow.data(), d);
        for (int64_t h = 0; h < group; h++) k.axpy_f32(scores[size_t(h * n_kv + p)], vrow.data(), og + h * d, d);
      }
    }
  });
}

}  // namespace qinfer::cpu
