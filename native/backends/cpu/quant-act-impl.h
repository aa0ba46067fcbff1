// 8-bit activation layouts of the SIMD kernels and their 256-bit quantizers, for the ISA units that
// include the quantized kernel templates (AVX2 instructions only, so every SIMD level shares them).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace qinfer::cpu {
namespace {

// Legacy formats (blocks of 32): qs[cols], then per block d (float) and ds = d * sum(qs) (float), so
// formats with an offset or a minimum fold it in with one product per block.
struct Act32 {
  const int8_t *qs = nullptr;
  const float *d = nullptr;
  const float *ds = nullptr;
  Act32() = default;
  Act32(const uint8_t *p, int64_t cols)
      : qs(reinterpret_cast<const int8_t *>(p)),
        d(reinterpret_cast<const float *>(p + cols)),
        ds(reinterpret_cast<const float *>(p + cols) + cols / 32) {}
};
size_t act32_bytes(int64_t cols) { return size_t(cols) + size_t(cols / 32) * 8; }

// K-quants and IQ4_XS (super-blocks of 256): qs[cols], d per 256 (float), sums of qs per 16 (int16).
struct Act256 {
  const int8_t *qs = nullptr;
  const float *d = nullptr;
  const int16_t *bsums = nullptr;
  Act256() = default;
  Act256(const uint8_t *p, int64_t cols)
      : qs(reinterpret_cast<const int8_t *>(p)),
        d(reinterpret_cast<const float *>(p + cols)),
        bsums(reinterpret_cast<const int16_t *>(p + cols + (cols / 256) * 4)) {}
};
size_t act256_bytes(int64_t cols) { return size_t(cols) + size_t(cols / 256) * 4 + size_t(cols / 16) * 2; }

// Decode is bound by memory latency unless the rows being read are requested ahead of use: each
// tile streams several rows, more than the hardware prefetchers follow on their own. A row asks for
// its own bytes 2 KiB ahead only where rows are long: in rows of up to 8 KiB (TinyLlama's 2048-column
// Q4_0 rows are 1152 bytes, 14336 columns make 8064) 2 KiB ahead lands in rows being read already, or
// leaves the first quarter of each row cold, so they ask for the same offset one tile of rows on.
constexpr size_t kPrefetchAhead = 2048, kShortRow = 8192;
inline size_t prefetch_distance(size_t row_bytes, int tile_rows) {
  return row_bytes <= kShortRow ? row_bytes * size_t(tile_rows) : kPrefetchAhead;
}
inline void prefetch_ahead(const void *consumed, size_t bytes, size_t ahead) {
  const char *p = static_cast<const char *>(consumed) + ahead;
  for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum8_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// max |x| over n (a multiple of 32) floats.
inline float absmax(const float *x, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  return hmax8(m);
}

// 32 floats times `id`, rounded to nearest, into 32 int8 in order; returns their sum.
inline int round32(const float *x, float id, int8_t *q) {
  const __m256 s = _mm256_set1_ps(id);
  __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), s));
  __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), s));
  __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), s));
  __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), s));
  int sum = hsum8_epi32(_mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d)));
  // packs interleave 128-bit lanes; the final permute restores element order.
  __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  __m256i q8 = _mm256_packs_epi16(ab, cd);
  q8 = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i *>(q), q8);
  return sum;
}

void quantize_act32(const float *x, void *act, int64_t cols) {
  uint8_t *p = static_cast<uint8_t *>(act);
  int8_t *qs = reinterpret_cast<int8_t *>(p);
  float *d = reinterpret_cast<float *>(p + cols);
  float *ds = d + cols / 32;
  for (int64_t b = 0; b < cols / 32; b++) {
    float amax = absmax(x + b * 32, 32);
    float db = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
    int sum = round32(x + b * 32, id, qs + b * 32);
    d[b] = db;
    ds[b] = db * float(sum);
  }
}

void quantize_act256(const float *x, void *act, int64_t cols) {
  uint8_t *p = static_cast<uint8_t *>(act);
  int8_t *qs = reinterpret_cast<int8_t *>(p);
  float *d = reinterpret_cast<float *>(p + cols);
  int16_t *bsums = reinterpret_cast<int16_t *>(p + cols + (cols / 256) * 4);
  for (int64_t b = 0; b < cols / 256; b++) {
    float amax = absmax(x + b * 256, 256);
    float id = amax > 0 ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    for (int k = 0; k < 8; k++) {
      int8_t *q = qs + b * 256 + k * 32;
      round32(x + b * 256 + k * 32, id, q);
      for (int h = 0; h < 2; h++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += q[h * 16 + l];
        bsums[b * 16 + k * 2 + h] = int16_t(s);
      }
    }
  }
}

}  // namespace
}  // namespace qinfer::cpu
