// W8A8 static activation quantization for the AVX2 and AVX-512 tables: x / scale clamped to [-127, 127] and rounded
// to nearest even, as quant::w8a8_round does (the same float product, so the same bytes), 32 or 64 values at a time.
#pragma once

#include <immintrin.h>

#include <cmath>

#include "quant/w8a8.h"

namespace qinfer::cpu {
namespace {

void w8a8_quantize_static_simd(const float *x, float scale, void *act, int64_t cols) {
  auto *h = static_cast<quant::W8a8ActHeader *>(act);
  h->scale = scale;
  h->pad[0] = h->pad[1] = h->pad[2] = 0;
  auto *q = reinterpret_cast<int8_t *>(h + 1);
  const float inv = scale > 0 ? 1.0f / scale : 0.0f, lim = float(quant::kW8a8Max);
  int64_t i = 0;
#if defined(__AVX512BW__)
  const __m512 vinv = _mm512_set1_ps(inv), hi = _mm512_set1_ps(lim), lo = _mm512_set1_ps(-lim);
  for (; i + 16 <= cols; i += 16) {
    // max/min return their second operand for NaN, as the reference's std::max/std::min order does.
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), vinv), lo), hi);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(q + i), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
  }
#else
  const __m256 vinv = _mm256_set1_ps(inv), hi = _mm256_set1_ps(lim), lo = _mm256_set1_ps(-lim);
  auto round8 = [&](const float *p) {
    return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(p), vinv), lo), hi));
  };
  for (; i + 32 <= cols; i += 32) {
    const __m256i ab = _mm256_packs_epi32(round8(x + i), round8(x + i + 8));
    const __m256i cd = _mm256_packs_epi32(round8(x + i + 16), round8(x + i + 24));
    // packs interleave 128-bit lanes; the permute restores element order.
    const __m256i q8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(q + i), q8);
  }
#endif
  if (i < cols) quant::w8a8_round(x + i, scale, q + i, cols - i);
}

}  // namespace
}  // namespace qinfer::cpu
