// Scalar reference for the K-quants Q2_K..Q6_K and their Q8_K activations: bit packing of each layout
// to and from the shared unpacked form, and the entry points of the reference table.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats.h"
#include "kquants.h"
#include "search.h"

namespace qinfer::quant {
namespace {

constexpr int QK = QINFER_QK_K;

// Q2_K and Q3_K share the 2-bit layout: element 128h + 32s + l is bits 2s..2s+1 of qs[32h + l].
void pack_2bit(const uint8_t *q, uint8_t *qs) {
  for (int h = 0; h < 2; h++)
    for (int l = 0; l < 32; l++) {
      const uint8_t *e = q + 128 * h + l;
      qs[32 * h + l] = uint8_t((e[0] & 3) | (e[32] & 3) << 2 | (e[64] & 3) << 4 | (e[96] & 3) << 6);
    }
}

void unpack_2bit(const uint8_t *qs, uint8_t *q) {
  for (int i = 0; i < QK; i++) q[i] = (qs[32 * (i / 128) + i % 32] >> (2 * ((i / 32) % 4))) & 3;
}

// Q4_K and Q5_K: each 64 elements take 32 bytes, the first 32 in low nibbles.
void pack_4bit_k(const uint8_t *q, uint8_t *qs) {
  for (int p = 0; p < 4; p++)
    for (int l = 0; l < 32; l++) qs[32 * p + l] = uint8_t((q[64 * p + l] & 15) | (q[64 * p + 32 + l] & 15) << 4);
}

void unpack_4bit_k(const uint8_t *qs, uint8_t *q) {
  for (int i = 0; i < QK; i++) q[i] = (qs[32 * (i / 64) + i % 32] >> (4 * ((i / 32) % 2))) & 15;
}

// The 12-byte 6-bit scale/min packing of Q4_K and Q5_K (read back by qinfer_k4_scale_min).
void pack_k4_scales(const int *sc, const int *mn, uint8_t *s) {
  std::memset(s, 0, QINFER_K_SCALE_SIZE);
  for (int j = 0; j < 8; j++) {
    if (j < 4) {
      s[j] = uint8_t(sc[j]);
      s[j + 4] = uint8_t(mn[j]);
    } else {
      s[j + 4] = uint8_t((sc[j] & 15) | (mn[j] & 15) << 4);
      s[j - 4] |= uint8_t((sc[j] >> 4) << 6);
      s[j] |= uint8_t((mn[j] >> 4) << 6);
    }
  }
}

void unpack_k4_scales(const uint8_t *s, KBlock &k) {
  for (int j = 0; j < 8; j++) {
    uint8_t sc, m;
    qinfer_k4_scale_min(j, s, &sc, &m);
    k.sc[j] = sc;
    k.mn[j] = m;
  }
}

// ---- per-format conversion between bytes and the unpacked form

void pack_q2_k(const KBlock &k, qinfer_block_q2_k &b) {
  for (int g = 0; g < 16; g++) b.scales[g] = uint8_t(k.sc[g] | k.mn[g] << 4);
  pack_2bit(k.q, b.qs);
  b.d = qinfer_f32_to_half(k.d);
  b.dmin = qinfer_f32_to_half(k.dmin);
}

void unpack_q2_k(const qinfer_block_q2_k &b, KBlock &k) {
  for (int g = 0; g < 16; g++) {
    k.sc[g] = b.scales[g] & 15;
    k.mn[g] = b.scales[g] >> 4;
  }
  unpack_2bit(b.qs, k.q);
  k.d = qinfer_half_to_f32(b.d);
  k.dmin = qinfer_half_to_f32(b.dmin);
}

void pack_q3_k(const KBlock &k, qinfer_block_q3_k &b) {
  std::memset(b.scales, 0, sizeof b.scales);
  for (int g = 0; g < 16; g++) {
    int l = k.sc[g] + 32;
    b.scales[g % 8] |= uint8_t((l & 15) << (4 * (g / 8)));
    b.scales[8 + g % 4] |= uint8_t((l >> 4) << (2 * (g / 4)));
  }
  std::memset(b.hmask, 0, sizeof b.hmask);
  uint8_t low[QK];
  for (int i = 0; i < QK; i++) {
    low[i] = k.q[i] & 3;
    if (k.q[i] & 4) b.hmask[i % 32] |= uint8_t(1 << (i / 32));
  }
  pack_2bit(low, b.qs);
  b.d = qinfer_f32_to_half(k.d);
}

void unpack_q3_k(const qinfer_block_q3_k &b, KBlock &k) {
  for (int g = 0; g < 16; g++) k.sc[g] = qinfer_q3k_scale(g, b.scales);
  unpack_2bit(b.qs, k.q);
  for (int i = 0; i < QK; i++) k.q[i] = uint8_t(k.q[i] | (((b.hmask[i % 32] >> (i / 32)) & 1) << 2));
  k.d = qinfer_half_to_f32(b.d);
  k.dmin = 0;
}

void pack_q4_k(const KBlock &k, qinfer_block_q4_k &b) {
  pack_k4_scales(k.sc, k.mn, b.scales);
  pack_4bit_k(k.q, b.qs);
  b.d = qinfer_f32_to_half(k.d);
  b.dmin = qinfer_f32_to_half(k.dmin);
}

void unpack_q4_k(const qinfer_block_q4_k &b, KBlock &k) {
  unpack_k4_scales(b.scales, k);
  unpack_4bit_k(b.qs, k.q);
  k.d = qinfer_half_to_f32(b.d);
  k.dmin = qinfer_half_to_f32(b.dmin);
}

void pack_q5_k(const KBlock &k, qinfer_block_q5_k &b) {
  pack_k4_scales(k.sc, k.mn, b.scales);
  pack_4bit_k(k.q, b.qs);
  std::memset(b.qh, 0, sizeof b.qh);
  for (int i = 0; i < QK; i++)
    if (k.q[i] & 16) b.qh[i % 32] |= uint8_t(1 << (i / 32));
  b.d = qinfer_f32_to_half(k.d);
  b.dmin = qinfer_f32_to_half(k.dmin);
}

void unpack_q5_k(const qinfer_block_q5_k &b, KBlock &k) {
  unpack_k4_scales(b.scales, k);
  unpack_4bit_k(b.qs, k.q);
  for (int i = 0; i < QK; i++) k.q[i] = uint8_t(k.q[i] | (((b.qh[i % 32] >> (i / 32)) & 1) << 4));
  k.d = qinfer_half_to_f32(b.d);
  k.dmin = qinfer_half_to_f32(b.dmin);
}

// Q6_K: per 128 elements, element 32s + l keeps its low nibble in ql[l + 32 * (s % 2)] (high nibble
// when s >= 2) and its top two bits in bits 2s..2s+1 of qh[l].
void pack_q6_k(const KBlock &k, qinfer_block_q6_k &b) {
  std::memset(b.ql, 0, sizeof b.ql);
  std::memset(b.qh, 0, sizeof b.qh);
  for (int i = 0; i < QK; i++) {
    int c = i / 128, s = (i / 32) % 4, l = i % 32;
    b.ql[64 * c + 32 * (s % 2) + l] |= uint8_t((k.q[i] & 15) << (4 * (s / 2)));
    b.qh[32 * c + l] |= uint8_t((k.q[i] >> 4) << (2 * s));
  }
  for (int g = 0; g < 16; g++) b.scales[g] = int8_t(k.sc[g]);
  b.d = qinfer_f32_to_half(k.d);
}

void unpack_q6_k(const qinfer_block_q6_k &b, KBlock &k) {
  for (int i = 0; i < QK; i++) {
    int c = i / 128, s = (i / 32) % 4, l = i % 32;
    int lo = (b.ql[64 * c + 32 * (s % 2) + l] >> (4 * (s / 2))) & 15;
    int hi = (b.qh[32 * c + l] >> (2 * s)) & 3;
    k.q[i] = uint8_t(lo | hi << 4);
  }
  for (int g = 0; g < 16; g++) k.sc[g] = b.scales[g];
  k.d = qinfer_half_to_f32(b.d);
  k.dmin = 0;
}

}  // namespace

#define QINFER_K_FORMAT(fmt, spec)                                                              \
  void quantize_##fmt(const float *x, void *dst, int64_t n) {                                  \
    quantize_k(spec, pack_##fmt, x, dst, n, nullptr);                                          \
  }                                                                                            \
  void quantize_##fmt##_weighted(const float *x, void *dst, int64_t n, const float *imp) {     \
    quantize_k(spec, pack_##fmt, x, dst, n, imp);                                              \
  }                                                                                            \
  void dequantize_##fmt(const void *src, float *dst, int64_t n) {                              \
    dequantize_k(spec, unpack_##fmt, src, dst, n);                                             \
  }                                                                                            \
  float vec_dot_##fmt(const void *w, const void *a, int64_t n) { return vec_dot_k(spec, unpack_##fmt, w, a, n); }

QINFER_K_FORMAT(q2_k, kSpecQ2K)
QINFER_K_FORMAT(q3_k, kSpecQ3K)
QINFER_K_FORMAT(q4_k, kSpecQ4K)
QINFER_K_FORMAT(q5_k, kSpecQ5K)
QINFER_K_FORMAT(q6_k, kSpecQ6K)

#undef QINFER_K_FORMAT

// ---- Q8_K activations: scale from the signed extreme mapped to -127, ties to even, group sums.

void quantize_q8_k(const float *x, void *dst, int64_t n) {
  auto *y = static_cast<qinfer_block_q8_k *>(dst);
  for (int64_t b = 0; b < n / QK; b++, x += QK) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK; j++) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    std::memset(&y[b], 0, sizeof y[b]);
    if (amax == 0) continue;
    const float iscale = -127.f / max;
    for (int j = 0; j < QK; j++) y[b].qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
    for (int g = 0; g < QK / 16; g++) {
      int s = 0;
      for (int j = 0; j < 16; j++) s += y[b].qs[16 * g + j];
      y[b].bsums[g] = int16_t(s);
    }
    y[b].d = 1 / iscale;
  }
}

void dequantize_q8_k(const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const qinfer_block_q8_k *>(src);
  for (int64_t b = 0; b < n / QK; b++)
    for (int j = 0; j < QK; j++) dst[b * QK + j] = y[b].d * float(y[b].qs[j]);
}

}  // namespace qinfer::quant
