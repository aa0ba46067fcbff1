// Scalar reference of qinfer's Q3_32 and Q2_32: exact weighted scale search on the odd grid, packing,
// dequantization and the dot product with Q8_0 activations.
#include <algorithm>
#include <cmath>

#include "formats.h"
#include "lowbit.h"
#include "qinfer/blocks-lowbit.h"
#include "search.h"

namespace qinfer::quant {
namespace {

constexpr int QK = QINFER_QK_LOWBIT;

// Codes q in 0..2^Bits-1 decode to d * (2q - (2^Bits - 1)).
template <typename Block, int Bits>
struct LowBit {
  static constexpr int top = (1 << Bits) - 1;

  struct Grid {
    float v[1 << Bits];
    Grid() {
      for (int q = 0; q <= top; q++) v[q] = float(2 * q - top);
    }
  };

  static void pack(const uint8_t *q, Block &b) {
    std::fill(b.qs, b.qs + QK / 4, uint8_t(0));
    for (int j = 0; j < QK; j++) b.qs[j % 8] = uint8_t(b.qs[j % 8] | ((q[j] & 3) << (2 * (j / 8))));
    if constexpr (Bits == 3) {
      uint32_t h = 0;
      for (int j = 0; j < QK; j++) h |= uint32_t(q[j] >> 2) << j;
      for (int k = 0; k < 4; k++) b.qh[k] = uint8_t(h >> (8 * k));
    }
  }

  static void unpack(const Block &b, uint8_t *q) {
    for (int j = 0; j < QK; j++) q[j] = uint8_t((b.qs[j % 8] >> (2 * (j / 8))) & 3);
    if constexpr (Bits == 3) {
      const uint32_t h = uint32_t(b.qh[0]) | uint32_t(b.qh[1]) << 8 | uint32_t(b.qh[2]) << 16 | uint32_t(b.qh[3]) << 24;
      for (int j = 0; j < QK; j++) q[j] = uint8_t(q[j] | (((h >> j) & 1) << 2));
    }
  }

  // The exact weighted search over scales, then the codes rounded again against the stored fp16 scale.
  static void quantize_block(const float *x, const float *w, Block &b) {
    static const Grid grid;
    uint8_t q[QK];
    const float d = std::fabs(best_scale(x, w, QK, grid.v, top + 1, q));
    b.d = qinfer_f32_to_half(d);
    const float ds = qinfer_half_to_f32(b.d);
    if (ds > 0) {
      for (int j = 0; j < QK; j++) q[j] = uint8_t(std::clamp(nearest_int((x[j] / ds + float(top)) * 0.5f), 0, top));
    } else {
      std::fill(q, q + QK, uint8_t(0));
    }
    pack(q, b);
  }

  static void quantize(const float *x, void *dst, int64_t n, const float *imp) {
    auto *y = static_cast<Block *>(dst);
    for (int64_t b = 0; b < n / QK; b++) quantize_block(x + b * QK, imp + b * QK, y[b]);
  }

  static void dequantize(const void *src, float *dst, int64_t n) {
    const auto *y = static_cast<const Block *>(src);
    uint8_t q[QK];
    for (int64_t b = 0; b < n / QK; b++) {
      unpack(y[b], q);
      const float d = qinfer_half_to_f32(y[b].d);
      for (int j = 0; j < QK; j++) dst[b * QK + j] = d * float(2 * int(q[j]) - top);
    }
  }

  static float vec_dot(const void *w, const void *a, int64_t n) {
    const auto *x = static_cast<const Block *>(w);
    const auto *y = static_cast<const qinfer_block_q8_0 *>(a);
    uint8_t q[QK];
    float sum = 0;
    for (int64_t b = 0; b < n / QK; b++) {
      unpack(x[b], q);
      int32_t s = 0;
      for (int j = 0; j < QK; j++) s += (2 * int32_t(q[j]) - top) * y[b].qs[j];
      sum += float(s) * qinfer_half_to_f32(x[b].d) * qinfer_half_to_f32(y[b].d);
    }
    return sum;
  }
};

using Q3 = LowBit<qinfer_block_q3_32, 3>;
using Q2 = LowBit<qinfer_block_q2_32, 2>;

}  // namespace

void quantize_q3_32(const float *x, void *dst, int64_t n) { Q3::quantize(x, dst, n, importance_or_ones(nullptr, n)); }
void quantize_q3_32_weighted(const float *x, void *dst, int64_t n, const float *imp) { Q3::quantize(x, dst, n, importance_or_ones(imp, n)); }
void dequantize_q3_32(const void *src, float *dst, int64_t n) { Q3::dequantize(src, dst, n); }
float vec_dot_q3_32(const void *w, const void *a, int64_t n) { return Q3::vec_dot(w, a, n); }

void quantize_q2_32(const float *x, void *dst, int64_t n) { Q2::quantize(x, dst, n, importance_or_ones(nullptr, n)); }
void quantize_q2_32_weighted(const float *x, void *dst, int64_t n, const float *imp) { Q2::quantize(x, dst, n, importance_or_ones(imp, n)); }
void dequantize_q2_32(const void *src, float *dst, int64_t n) { Q2::dequantize(src, dst, n); }
float vec_dot_q2_32(const void *w, const void *a, int64_t n) { return Q2::vec_dot(w, a, n); }

}  // namespace qinfer::quant
