// W8A8 products for the AVX2 and AVX-512 tables: |w| times sign(w)-applied activations, 32 bytes at a time
// through dot_u8s8 (maddubs, or vpdpbusd where the unit is built with VNNI); |w|, |a| <= 127 keep int16 pairs exact.
#pragma once

#include "kernels.h"
#include "quant/w8a8.h"
#include "w8a8-static-act-impl.h"

namespace qinfer::cpu {
namespace {

inline int32_t w8a8_dot_i32(const int8_t *w, const int8_t *a, int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + i));
    const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + i));
    acc = dot_u8s8(acc, _mm256_sign_epi8(wv, wv), _mm256_sign_epi8(av, wv));
  }
  const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  const __m128i s2 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
  int32_t sum = _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 1)));
  for (; i < n; i++) sum += int32_t(w[i]) * a[i];
  return sum;
}

void w8a8_gemm_simd(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  for (int64_t r = r0; r < r1; r++) {
    const auto *w = reinterpret_cast<const int8_t *>(g.w + size_t(r) * g.w_stride);
    for (int64_t t = t0; t < t1; t++) {
      const uint8_t *act = g.act + size_t(t) * g.act_stride;
      const float a_scale = reinterpret_cast<const quant::W8a8ActHeader *>(act)->scale;
      g.y[t * g.ldy + r] = float(w8a8_dot_i32(w, quant::w8a8_act_values(act), g.cols)) * g.w_scale[r] * a_scale;
    }
  }
}

size_t w8a8_act_bytes(int64_t cols) { return quant::w8a8_act_bytes(cols); }

void fill_w8a8(Kernels &t) {
  t.w8a8 = GemmKernel{w8a8_act_bytes, quant::w8a8_quantize_act, w8a8_gemm_simd};
  t.w8a8_static_act = w8a8_quantize_static_simd;
}

}  // namespace
}  // namespace qinfer::cpu
