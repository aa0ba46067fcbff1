// Scalar reference for the 32-element formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the Q8_1 activations:
// round-to-nearest bit-identical to ggml's reference quantizer, importance-weighted search, dequantize, dot.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "formats.h"
#include "qinfer/blocks.h"
#include "search.h"

namespace qinfer::quant {
namespace {

constexpr int QK = QINFER_QK_LEGACY;

// Nibble packing shared by every 4/5-bit legacy block: element j low, element j+16 high.
void pack_nibbles(const uint8_t *q, uint8_t *qs) {
  for (int j = 0; j < QK / 2; j++) qs[j] = uint8_t((q[j] & 0xF) | ((q[j + QK / 2] & 0xF) << 4));
}

void unpack_nibbles(const uint8_t *qs, uint8_t *q) {
  for (int j = 0; j < QK / 2; j++) {
    q[j] = qs[j] & 0xF;
    q[j + QK / 2] = qs[j] >> 4;
  }
}

void pack_high_bits(const uint8_t *q, uint8_t *qh) {
  uint32_t h = 0;
  for (int j = 0; j < QK; j++) h |= uint32_t((q[j] >> 4) & 1) << j;
  for (int k = 0; k < 4; k++) qh[k] = uint8_t(h >> (8 * k));
}

void unpack5(const uint8_t *qs, const uint8_t *qh, uint8_t *q) {
  unpack_nibbles(qs, q);
  uint32_t h = uint32_t(qh[0]) | uint32_t(qh[1]) << 8 | uint32_t(qh[2]) << 16 | uint32_t(qh[3]) << 24;
  for (int j = 0; j < QK; j++) q[j] = uint8_t(q[j] | (((h >> j) & 1) << 4));
}

// The signed extreme of a block: its scale maps that value to the grid's most negative level.
float signed_absmax(const float *x) {
  float amax = 0, max = 0;
  for (int j = 0; j < QK; j++) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// Q4_0/Q5_0 round-to-nearest, with ggml's arithmetic (truncation of x/d + half-range + 0.5).
void rtn_symmetric(const float *x, int half_range, qinfer_half *dh, uint8_t *q) {
  const float d = signed_absmax(x) / float(-half_range);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  *dh = qinfer_f32_to_half(d);
  const int top = 2 * half_range - 1;
  for (int j = 0; j < QK; j++) q[j] = uint8_t(std::min(top, int(int8_t(x[j] * id + (float(half_range) + 0.5f)))));
}

// Q4_1/Q5_1 round-to-nearest: the block's range split into 2^bits - 1 steps above its minimum.
void rtn_affine(const float *x, int top, qinfer_half *dh, qinfer_half *mh, uint8_t *q) {
  float min = x[0], max = x[0];
  for (int j = 1; j < QK; j++) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / float(top);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  *dh = qinfer_f32_to_half(d);
  *mh = qinfer_f32_to_half(min);
  for (int j = 0; j < QK; j++) q[j] = uint8_t(std::min(top, int(int8_t((x[j] - min) * id + 0.5f))));
}

// Weighted search on a symmetric grid lo..hi, rounded again against the stored fp16 scale.
void weighted_symmetric(const float *x, const float *w, int lo, int hi, qinfer_half *dh, uint8_t *q) {
  static const IntLevels grids[] = {IntLevels(-8, 7), IntLevels(-16, 15), IntLevels(-127, 127)};
  const IntLevels &g = lo == -8 ? grids[0] : lo == -16 ? grids[1] : grids[2];
  float d = best_scale(x, w, QK, g.v, g.n, q, lo == -127 ? 1.3f : 0.f);
  *dh = qinfer_f32_to_half(d);
  const float ds = qinfer_half_to_f32(*dh);
  if (ds != 0) {
    for (int j = 0; j < QK; j++) q[j] = uint8_t(std::clamp(nearest_int(x[j] / ds), lo, hi) - lo);
  }
}

void weighted_affine(const float *x, const float *w, int top, qinfer_half *dh, qinfer_half *mh, uint8_t *q) {
  float d, m;
  best_scale_min(x, w, QK, top, true, &d, &m, q);
  *dh = qinfer_f32_to_half(d);
  *mh = qinfer_f32_to_half(m);
  const float ds = qinfer_half_to_f32(*dh), ms = qinfer_half_to_f32(*mh);
  if (ds > 0) {
    for (int j = 0; j < QK; j++) q[j] = uint8_t(std::clamp(nearest_int((x[j] - ms) / ds), 0, top));
  }
}

int32_t dot_block(const uint8_t *q, int bias, const int8_t *a) {
  int32_t s = 0;
  for (int j = 0; j < QK; j++) s += (int32_t(q[j]) - bias) * a[j];
  return s;
}

}  // namespace

const float *importance_or_ones(const float *imp, int64_t n) {
  if (imp) return imp;
  thread_local std::vector<float> ones;
  if (int64_t(ones.size()) < n) ones.assign(size_t(n), 1.f);
  return ones.data();
}

namespace {

// The four nibble formats differ only in bit width (4 or 5) and in storing a minimum; everything else
// is shared. Symmetric: x = d * (q - 2^(bits-1)); affine: x = d * q + m.
template <typename Block, int Bits, bool Affine>
struct Legacy {
  static constexpr int top = (1 << Bits) - 1;
  static constexpr int half = 1 << (Bits - 1);

  static void pack(const uint8_t *q, Block &b) {
    pack_nibbles(q, b.qs);
    if constexpr (Bits == 5) pack_high_bits(q, b.qh);
  }

  static void unpack(const Block &b, uint8_t *q) {
    if constexpr (Bits == 5)
      unpack5(b.qs, b.qh, q);
    else
      unpack_nibbles(b.qs, q);
  }

  static void quantize(const float *x, void *dst, int64_t n, const float *imp) {
    auto *y = static_cast<Block *>(dst);
    const float *w = imp;
    uint8_t q[QK];
    for (int64_t b = 0; b < n / QK; b++) {
      const float *xb = x + b * QK;
      if constexpr (Affine) {
        if (w)
          weighted_affine(xb, w + b * QK, top, &y[b].d, &y[b].m, q);
        else
          rtn_affine(xb, top, &y[b].d, &y[b].m, q);
      } else {
        if (w)
          weighted_symmetric(xb, w + b * QK, -half, half - 1, &y[b].d, q);
        else
          rtn_symmetric(xb, half, &y[b].d, q);
      }
      pack(q, y[b]);
    }
  }

  // Same float operations as ggml's dequantization, so both decode bit-identical values.
  static void dequantize(const void *src, float *dst, int64_t n) {
    const auto *y = static_cast<const Block *>(src);
    uint8_t q[QK];
    for (int64_t b = 0; b < n / QK; b++) {
      const float d = qinfer_half_to_f32(y[b].d);
      unpack(y[b], q);
      if constexpr (Affine) {
        const float m = qinfer_half_to_f32(y[b].m);
        for (int j = 0; j < QK; j++) dst[b * QK + j] = float(q[j]) * d + m;
      } else {
        for (int j = 0; j < QK; j++) dst[b * QK + j] = float(int(q[j]) - half) * d;
      }
    }
  }

  // Against Q8_0, or for the affine formats Q8_1, whose s = a_d * sum(qa) folds the minimum in:
  // sum (d q + m) a_d qa = d a_d sum q qa + m s.
  static float vec_dot(const void *w, const void *a, int64_t n) {
    const auto *x = static_cast<const Block *>(w);
    uint8_t q[QK];
    float sum = 0;
    for (int64_t b = 0; b < n / QK; b++) {
      unpack(x[b], q);
      const float d = qinfer_half_to_f32(x[b].d);
      if constexpr (Affine) {
        const auto &y = static_cast<const qinfer_block_q8_1 *>(a)[b];
        sum += float(dot_block(q, 0, y.qs)) * d * qinfer_half_to_f32(y.d) + qinfer_half_to_f32(x[b].m) * qinfer_half_to_f32(y.s);
      } else {
        const auto &y = static_cast<const qinfer_block_q8_0 *>(a)[b];
        sum += float(dot_block(q, half, y.qs)) * d * qinfer_half_to_f32(y.d);
      }
    }
    return sum;
  }
};

using Q4_0 = Legacy<qinfer_block_q4_0, 4, false>;
using Q4_1 = Legacy<qinfer_block_q4_1, 4, true>;
using Q5_0 = Legacy<qinfer_block_q5_0, 5, false>;
using Q5_1 = Legacy<qinfer_block_q5_1, 5, true>;

}  // namespace

#define QINFER_LEGACY_FORMAT(fmt, F)                                                                             \
  void quantize_##fmt(const float *x, void *dst, int64_t n) { F::quantize(x, dst, n, nullptr); }                  \
  void quantize_##fmt##_weighted(const float *x, void *dst, int64_t n, const float *imp) {                       \
    F::quantize(x, dst, n, importance_or_ones(imp, n));                                                          \
  }                                                                                                              \
  void dequantize_##fmt(const void *src, float *dst, int64_t n) { F::dequantize(src, dst, n); }                  \
  float vec_dot_##fmt(const void *w, const void *a, int64_t n) { return F::vec_dot(w, a, n); }

QINFER_LEGACY_FORMAT(q4_0, Q4_0)
QINFER_LEGACY_FORMAT(q4_1, Q4_1)
QINFER_LEGACY_FORMAT(q5_0, Q5_0)
QINFER_LEGACY_FORMAT(q5_1, Q5_1)

#undef QINFER_LEGACY_FORMAT

// ---- Q8_0 and Q8_1

namespace {

// amax / 127 and round-half-away-from-zero, as ggml's reference does; returns the scale.
float rtn_q8(const float *x, qinfer_half *dh, int8_t *qs) {
  float amax = 0;
  for (int j = 0; j < QK; j++) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  *dh = qinfer_f32_to_half(d);
  for (int j = 0; j < QK; j++) qs[j] = int8_t(std::round(x[j] * id));
  return d;
}

}  // namespace

void quantize_q8_0(const float *x, void *dst, int64_t n) {
  auto *y = static_cast<qinfer_block_q8_0 *>(dst);
  for (int64_t b = 0; b < n / QK; b++) rtn_q8(x + b * QK, &y[b].d, y[b].qs);
}

void quantize_q8_0_weighted(const float *x, void *dst, int64_t n, const float *imp) {
  auto *y = static_cast<qinfer_block_q8_0 *>(dst);
  const float *w = importance_or_ones(imp, n);
  uint8_t q[QK];
  for (int64_t b = 0; b < n / QK; b++) {
    weighted_symmetric(x + b * QK, w + b * QK, -127, 127, &y[b].d, q);
    for (int j = 0; j < QK; j++) y[b].qs[j] = int8_t(int(q[j]) - 127);
  }
}

void dequantize_q8_0(const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const qinfer_block_q8_0 *>(src);
  for (int64_t b = 0; b < n / QK; b++) {
    const float d = qinfer_half_to_f32(y[b].d);
    for (int j = 0; j < QK; j++) dst[b * QK + j] = float(y[b].qs[j]) * d;
  }
}

float vec_dot_q8_0(const void *w, const void *a, int64_t n) {
  const auto *x = static_cast<const qinfer_block_q8_0 *>(w);
  const auto *y = static_cast<const qinfer_block_q8_0 *>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / QK; b++) {
    int32_t s = 0;
    for (int j = 0; j < QK; j++) s += int32_t(x[b].qs[j]) * y[b].qs[j];
    sum += float(s) * qinfer_half_to_f32(x[b].d) * qinfer_half_to_f32(y[b].d);
  }
  return sum;
}

void quantize_q8_1(const float *x, void *dst, int64_t n) {
  auto *y = static_cast<qinfer_block_q8_1 *>(dst);
  for (int64_t b = 0; b < n / QK; b++) {
    const float d = rtn_q8(x + b * QK, &y[b].d, y[b].qs);
    int sum = 0;
    for (int j = 0; j < QK; j++) sum += y[b].qs[j];
    y[b].s = qinfer_f32_to_half(float(sum) * d);
  }
}

void dequantize_q8_1(const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const qinfer_block_q8_1 *>(src);
  for (int64_t b = 0; b < n / QK; b++) {
    const float d = qinfer_half_to_f32(y[b].d);
    for (int j = 0; j < QK; j++) dst[b * QK + j] = float(y[b].qs[j]) * d;
  }
}

}  // namespace qinfer::quant
