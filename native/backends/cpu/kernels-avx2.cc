// AVX2+FMA kernels; this file alone is compiled with -mavx2 -mfma, and runs only when cpuid says so.
#include <immintrin.h>

#include "isa.h"

namespace qinfer::cpu {
namespace {

void add_f32(const float *a, const float *b, float *dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  for (; i < n; i++) dst[i] = a[i] + b[i];
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void matvec_f32(const float *w, const float *x, float *y, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float *row = w + r * cols;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16) {
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(x + c), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 8), _mm256_loadu_ps(x + c + 8), acc1);
    }
    float acc = hsum(_mm256_add_ps(acc0, acc1));
    for (; c < cols; c++) acc += row[c] * x[c];
    y[r] = acc;
  }
}

}  // namespace

const Kernels &kernels_avx2() {
  static const Kernels k{add_f32, matvec_f32};
  return k;
}

}  // namespace qinfer::cpu
