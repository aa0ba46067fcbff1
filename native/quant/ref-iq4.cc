// Scalar reference for the non-linear 4-bit formats IQ4_NL (32-element blocks, Q8_0 activations) and
// IQ4_XS (256-element super-blocks with 6-bit group scales, Q8_K activations).
#include <algorithm>

#include "formats.h"
#include "kquants.h"
#include "search.h"

namespace qinfer::quant {
namespace {

constexpr int QK = QINFER_QK_LEGACY;
const float kValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

void pack_pairs(const uint8_t *q, uint8_t *qs) {
  for (int j = 0; j < 16; j++) qs[j] = uint8_t((q[j] & 15) | (q[j + 16] & 15) << 4);
}

void unpack_pairs(const uint8_t *qs, uint8_t *q) {
  for (int j = 0; j < 16; j++) {
    q[j] = qs[j] & 15;
    q[j + 16] = qs[j] >> 4;
  }
}

void quantize_nl_block(const float *x, const float *w, qinfer_block_iq4_nl &b) {
  uint8_t q[QK];
  b.d = qinfer_f32_to_half(best_scale(x, w, QK, kValues, 16, q));
  const float d = qinfer_half_to_f32(b.d);
  if (d != 0)
    for (int j = 0; j < QK; j++) q[j] = uint8_t(nearest_level(kValues, 16, x[j] / d));
  pack_pairs(q, b.qs);
}

void pack_iq4_xs(const KBlock &k, qinfer_block_iq4_xs &b) {
  b.scales_h = 0;
  for (int g = 0; g < 8; g++) {
    int l = k.sc[g] + 32;
    if (g % 2 == 0)
      b.scales_l[g / 2] = uint8_t(l & 15);
    else
      b.scales_l[g / 2] |= uint8_t((l & 15) << 4);
    b.scales_h |= uint16_t((l >> 4) << (2 * g));
    pack_pairs(k.q + 32 * g, b.qs + 16 * g);
  }
  b.d = qinfer_f32_to_half(k.d);
}

void unpack_iq4_xs(const qinfer_block_iq4_xs &b, KBlock &k) {
  for (int g = 0; g < 8; g++) {
    k.sc[g] = (((b.scales_l[g / 2] >> (4 * (g % 2))) & 15) | (((b.scales_h >> (2 * g)) & 3) << 4)) - 32;
    unpack_pairs(b.qs + 16 * g, k.q + 32 * g);
  }
  k.d = qinfer_half_to_f32(b.d);
  k.dmin = 0;
}

}  // namespace

void quantize_iq4_nl(const float *x, void *dst, int64_t n) { quantize_iq4_nl_weighted(x, dst, n, nullptr); }

void quantize_iq4_nl_weighted(const float *x, void *dst, int64_t n, const float *imp) {
  auto *y = static_cast<qinfer_block_iq4_nl *>(dst);
  const float *w = importance_or_ones(imp, n);
  for (int64_t b = 0; b < n / QK; b++) quantize_nl_block(x + b * QK, w + b * QK, y[b]);
}

void dequantize_iq4_nl(const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const qinfer_block_iq4_nl *>(src);
  uint8_t q[QK];
  for (int64_t b = 0; b < n / QK; b++) {
    const float d = qinfer_half_to_f32(y[b].d);
    unpack_pairs(y[b].qs, q);
    for (int j = 0; j < QK; j++) dst[b * QK + j] = d * kValues[q[j]];
  }
}

float vec_dot_iq4_nl(const void *w, const void *a, int64_t n) {
  const auto *x = static_cast<const qinfer_block_iq4_nl *>(w);
  const auto *y = static_cast<const qinfer_block_q8_0 *>(a);
  uint8_t q[QK];
  float sum = 0;
  for (int64_t b = 0; b < n / QK; b++) {
    unpack_pairs(x[b].qs, q);
    int32_t s = 0;
    for (int j = 0; j < QK; j++) s += int32_t(qinfer_iq4nl_values[q[j]]) * y[b].qs[j];
    sum += float(s) * qinfer_half_to_f32(x[b].d) * qinfer_half_to_f32(y[b].d);
  }
  return sum;
}

void quantize_iq4_xs(const float *x, void *dst, int64_t n) { quantize_k(kSpecIQ4XS, pack_iq4_xs, x, dst, n, nullptr); }

void quantize_iq4_xs_weighted(const float *x, void *dst, int64_t n, const float *imp) {
  quantize_k(kSpecIQ4XS, pack_iq4_xs, x, dst, n, imp);
}

void dequantize_iq4_xs(const void *src, float *dst, int64_t n) { dequantize_k(kSpecIQ4XS, unpack_iq4_xs, src, dst, n); }

float vec_dot_iq4_xs(const void *w, const void *a, int64_t n) { return vec_dot_k(kSpecIQ4XS, unpack_iq4_xs, w, a, n); }

}  // namespace qinfer::quant
