// AVX-512 vector primitives for the shared kernel templates; included by AVX-512 translation units only.
// QINFER_USE_VNNI selects vpdpbusd for the 8-bit dot product (only in the avx512vnni unit).
#pragma once

// GCC 12 reports its own _mm512_undefined_* helpers as uninitialized (a false positive) wherever the
// reductions and masked loads are inlined.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cstdint>

namespace qinfer::cpu {
namespace {

using VF = __m512;
constexpr int kVecF = 16;

inline VF vzero() { return _mm512_setzero_ps(); }
inline VF vset1(float a) { return _mm512_set1_ps(a); }
inline VF vload(const float *p) { return _mm512_loadu_ps(p); }
inline VF vload_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p))); }
inline VF vload_bf16(const uint16_t *p) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline VF vfma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF vadd(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline void vstore(float *p, VF v) { _mm512_storeu_ps(p, v); }
inline float vsum(VF v) { return _mm512_reduce_add_ps(v); }

inline __mmask16 first_n(int n) { return __mmask16((1u << n) - 1); }
inline VF vload_n(const float *p, int n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
inline VF vload_f16_n(const uint16_t *p, int n) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_n(n), p)); }
inline VF vload_bf16_n(const uint16_t *p, int n) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(first_n(n), p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline void vstore_n(float *p, VF v, int n) { _mm512_mask_storeu_ps(p, first_n(n), v); }

inline VF vmax(VF a, VF b) { return _mm512_max_ps(a, b); }
inline VF vmin(VF a, VF b) { return _mm512_min_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm512_div_ps(a, b); }
inline float vmax_all(VF v) { return _mm512_reduce_max_ps(v); }
// 2^n for whole numbers n in [-126, 127].
inline VF vpow2i(VF n) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), n); }
inline VF vround(VF x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// Lanes where x < lo become 0.
inline VF vzero_below(VF v, VF x, float lo) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_GE_OQ), v); }

inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#ifdef QINFER_USE_VNNI
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

inline __m512i dot_u8s8_512(__m512i acc, __m512i u, __m512i s) {
#ifdef QINFER_USE_VNNI
  return _mm512_dpbusd_epi32(acc, u, s);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
#endif
}
// acc + the pairwise int16 products of a and b, summed per int32 lane.
inline __m512i dot_s16_512(__m512i acc, __m512i a, __m512i b) {
#ifdef QINFER_USE_VNNI
  return _mm512_dpwssd_epi32(acc, a, b);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
#endif
}

// Byte offsets 0, stride, ..., 15 * stride: 16 blocks (or rows) `stride` bytes apart.
inline __m512i strided_offsets(size_t stride) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(int(stride)));
}
// The fp16 scales that start the 16 blocks at first + offsets (lanes outside `lanes` 0), as floats: one
// gather of the dwords they begin (the load ports are idle in the products, the shuffle port is not).
inline __m512 gather_block_scales(const void *first, __m512i offsets, __mmask16 lanes) {
  __m512i h = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), lanes, offsets, first, 1);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
}

}  // namespace
}  // namespace qinfer::cpu
