// AVX2 vector primitives for the shared kernel templates; included (inside an anonymous namespace) by AVX2 translation units only.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace qinfer::cpu {
namespace {

using VF = __m256;
constexpr int kVecF = 8;

inline VF vzero() { return _mm256_setzero_ps(); }
inline VF vset1(float a) { return _mm256_set1_ps(a); }
inline VF vload(const float *p) { return _mm256_loadu_ps(p); }
inline VF vload_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))); }
inline VF vload_bf16(const uint16_t *p) {
  __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline VF vfma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VF vadd(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline void vstore(float *p, VF v) { _mm256_storeu_ps(p, v); }

inline float vsum(VF v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Loads of the first n (< kVecF) elements, the rest zero.
template <typename T>
inline void copy_partial(T *dst, const T *src, int n) {
  std::memset(dst, 0, sizeof(T) * kVecF);
  std::memcpy(dst, src, sizeof(T) * size_t(n));
}
inline VF vload_n(const float *p, int n) {
  alignas(32) float t[kVecF];
  copy_partial(t, p, n);
  return _mm256_load_ps(t);
}
inline VF vload_f16_n(const uint16_t *p, int n) {
  uint16_t t[kVecF];
  copy_partial(t, p, n);
  return vload_f16(t);
}
inline VF vload_bf16_n(const uint16_t *p, int n) {
  uint16_t t[kVecF];
  copy_partial(t, p, n);
  return vload_bf16(t);
}
inline void vstore_n(float *p, VF v, int n) {
  alignas(32) float t[kVecF];
  _mm256_store_ps(t, v);
  std::memcpy(p, t, sizeof(float) * size_t(n));
}

inline VF vmax(VF a, VF b) { return _mm256_max_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm256_div_ps(a, b); }
inline float vmax_all(VF v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// 2^n for whole numbers n in [-126, 127], built in the exponent field.
inline VF vpow2i(VF n) {
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_castsi256_ps(e);
}
inline VF vround(VF x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// Lanes where x < lo become 0.
inline VF vzero_below(VF v, VF x, float lo) { return _mm256_and_ps(v, _mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_GE_OQ)); }
inline VF vmin(VF a, VF b) { return _mm256_min_ps(a, b); }

// acc + sum over each group of 4 of u8 * s8 (u < 128 or |s| small enough that pairs fit in int16).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

}  // namespace
}  // namespace qinfer::cpu
