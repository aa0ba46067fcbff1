// Products with the 32-element block formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) against Act32
// activations: each block decodes once per row tile into 32 bytes and serves every token of the tile.
// Included by the SIMD units after their simd-*.h (dot_u8s8 picks maddubs or vpdpbusd).
#pragma once

#include <cstring>

#include "quant-act-impl.h"
#include "tiler.h"

namespace qinfer::cpu {
namespace {

inline float h2f(qinfer_half h) { return _cvtsh_ss(h); }

// 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15), then high nibbles (16..31).
inline __m256i nibbles32(const uint8_t *qs) {
  __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(qs));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

// Bit j of the little-endian 32-bit qh as 0x10 in byte j (the fifth bit of Q5 elements).
inline __m256i fifth_bits(const uint8_t *qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3,
                                          3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)), spread);
  v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

// A decoded block: q as bytes (unsigned unless the format's kSigned), with
// y = d * dot(q - kOffset, x) + m * ds(x) (m only where the format has kMin).
struct Decoded {
  __m256i q;
  float d, m;
};

struct FmtQ8_0 {
  using Block = qinfer_block_q8_0;
#ifdef QINFER_USE_VNNI
  // vpdpbusd cannot saturate: shift to unsigned and take 128 * sum(x) back out.
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 128;
  static Decoded decode(const Block &b) {
    __m256i q = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs)), _mm256_set1_epi8(char(0x80)));
    return {q, h2f(b.d), 0.0f};
  }
#else
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOffset = 0;
  static Decoded decode(const Block &b) { return {_mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.qs)), h2f(b.d), 0.0f}; }
#endif
};

struct FmtQ4_0 {
  using Block = qinfer_block_q4_0;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 8;
  static Decoded decode(const Block &b) { return {nibbles32(b.qs), h2f(b.d), 0.0f}; }
};

struct FmtQ4_1 {
  using Block = qinfer_block_q4_1;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOffset = 0;
  static Decoded decode(const Block &b) { return {nibbles32(b.qs), h2f(b.d), h2f(b.m)}; }
};

struct FmtQ5_0 {
  using Block = qinfer_block_q5_0;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 16;
  static Decoded decode(const Block &b) { return {_mm256_or_si256(nibbles32(b.qs), fifth_bits(b.qh)), h2f(b.d), 0.0f}; }
};

struct FmtQ5_1 {
  using Block = qinfer_block_q5_1;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOffset = 0;
  static Decoded decode(const Block &b) { return {_mm256_or_si256(nibbles32(b.qs), fifth_bits(b.qh)), h2f(b.d), h2f(b.m)}; }
};

inline __m256i iq4nl_lookup(__m256i nib) {
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(qinfer_iq4nl_values)));
  return _mm256_shuffle_epi8(table, nib);
}

struct FmtIQ4_NL {
  using Block = qinfer_block_iq4_nl;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOffset = 0;
  static Decoded decode(const Block &b) { return {iq4nl_lookup(nibbles32(b.qs)), h2f(b.d), 0.0f}; }
};

// base + dot(q, x) of one block as 8 int32 lanes; signed weights go through |q| and x with q's sign.
template <bool kSigned>
inline __m256i block_dot(__m256i base, __m256i q, __m256i x) {
  if (kSigned) return dot_u8s8(base, _mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
  return dot_u8s8(base, q, x);
}

template <class F>
struct LegacyTile {
  template <int NR, int NT>
  struct Of {
    static void run(const GemmArgs &g, int64_t r, int64_t t) {
      const int64_t nb = g.cols / 32;
      const size_t ahead = prefetch_distance(g.w_stride, NR);
      const typename F::Block *w[NR];
      for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const typename F::Block *>(g.w + size_t(r + i) * g.w_stride);
      Act32 x[NT];
      for (int j = 0; j < NT; j++) x[j] = Act32(g.act + size_t(t + j) * g.act_stride, g.cols);
      __m256 acc[NR][NT];
      float corr[NR][NT] = {};
      for (int i = 0; i < NR; i++)
        for (int j = 0; j < NT; j++) acc[i][j] = _mm256_setzero_ps();
      for (int64_t b = 0; b < nb; b++) {
        Decoded q[NR];
        for (int i = 0; i < NR; i++) {
          q[i] = F::decode(w[i][b]);
          if (b % 2 == 0) prefetch_ahead(w[i] + b, 2 * sizeof(typename F::Block), ahead);
        }
        for (int j = 0; j < NT; j++) {
          __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[j].qs + b * 32));
          // -kOffset * x, shared by the rows: the offset leaves the integer sum exactly.
          __m256i base = _mm256_setzero_si256();
          if (F::kOffset) base = _mm256_sub_epi32(base, dot_u8s8(base, _mm256_set1_epi8(char(F::kOffset)), xv));
          float dx = x[j].d[b];
          for (int i = 0; i < NR; i++) {
            __m256 p = _mm256_cvtepi32_ps(block_dot<F::kSigned>(base, q[i].q, xv));
            acc[i][j] = _mm256_fmadd_ps(p, _mm256_set1_ps(q[i].d * dx), acc[i][j]);
            if (F::kMin) corr[i][j] += q[i].m * x[j].ds[b];
          }
        }
      }
      for (int j = 0; j < NT; j++)
        for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = hsum8(acc[i][j]) + corr[i][j];
    }
  };
};

template <class F>
constexpr GemmKernel legacy_kernel() {
  return GemmKernel{act32_bytes, quantize_act32, Tiler<LegacyTile<F>::template Of, kQuantRows, kQuantTokens>::run};
}

void fill_legacy_table(Kernels &k) {
  k.gemm[QINFER_TYPE_Q8_0] = legacy_kernel<FmtQ8_0>();
  k.gemm[QINFER_TYPE_Q4_0] = legacy_kernel<FmtQ4_0>();
  k.gemm[QINFER_TYPE_Q4_1] = legacy_kernel<FmtQ4_1>();
  k.gemm[QINFER_TYPE_Q5_0] = legacy_kernel<FmtQ5_0>();
  k.gemm[QINFER_TYPE_Q5_1] = legacy_kernel<FmtQ5_1>();
  k.gemm[QINFER_TYPE_IQ4_NL] = legacy_kernel<FmtIQ4_NL>();
}

}  // namespace
}  // namespace qinfer::cpu
