// Products with the 256-element super-block formats (Q2_K..Q6_K, IQ4_XS) against Act256 activations.
// Each format unpacks a sub-block of 32 weights into bytes plus 16-bit group scales; integer sums are
// scaled per group in 16-bit lanes (maddubs + madd) and converted to float once per super-block.
#pragma once

#include <cstring>

#include "quant-act-impl.h"
#include "tiler.h"

namespace qinfer::cpu {
namespace {

// Per-row state of one super-block: y = d * sum_g sc[g] * dot_g(q, x) - dmin * sum_g m[g] * bsum_g(x)
// over the 16 groups of 16. Scales are int16 lanes that a byte shuffle spreads over a sub-block.
struct KPrep {
  float d, dmin;
  __m256i sc_lo, sc_hi;  // scales of groups 0..7 and 8..15 (per-16 formats), or the 8 sub-block scales
  __m256i m16;           // the 16 groups' minimums
};

inline float kh2f(qinfer_half h) { return _cvtsh_ss(h); }

inline __m256i load32(const uint8_t *p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)); }
inline __m128i load16(const void *p) { return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)); }
inline __m256i both_lanes(__m128i v) { return _mm256_broadcastsi128_si256(v); }

// Bits [shift, shift + width) of every byte of v (shift and width small).
inline __m256i bits_of(__m256i v, int shift, int mask) {
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(char(mask)));
}

// Shuffle masks picking int16 lane a for the low 128 bits and b for the high: per-32 scales use a = b
// = k; per-16 scales use (2k, 2k+1) of the half that holds them.
alignas(32) const uint8_t kScaleShuffle32[8][32] = {
#define QINFER_S(a) a * 2, a * 2 + 1
#define QINFER_ROW(a) {QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), \
                       QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a)}
    QINFER_ROW(0), QINFER_ROW(1), QINFER_ROW(2), QINFER_ROW(3), QINFER_ROW(4), QINFER_ROW(5), QINFER_ROW(6), QINFER_ROW(7)};
#undef QINFER_ROW
#define QINFER_ROW(a, b) {QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), QINFER_S(a), \
                          QINFER_S(b), QINFER_S(b), QINFER_S(b), QINFER_S(b), QINFER_S(b), QINFER_S(b), QINFER_S(b), QINFER_S(b)}
alignas(32) const uint8_t kScaleShuffle16[4][32] = {QINFER_ROW(0, 1), QINFER_ROW(2, 3), QINFER_ROW(4, 5), QINFER_ROW(6, 7)};
#undef QINFER_ROW
#undef QINFER_S

inline __m256i scale32(const KPrep &p, int k) { return _mm256_shuffle_epi8(p.sc_lo, load32(kScaleShuffle32[k])); }
inline __m256i scale16(const KPrep &p, int k) { return _mm256_shuffle_epi8(k < 4 ? p.sc_lo : p.sc_hi, load32(kScaleShuffle16[k % 4])); }

// 16 int16 scales (groups 0..15) into the two shuffle sources.
inline void set_scales16(KPrep &p, __m256i sc16) {
  p.sc_lo = _mm256_permute2x128_si256(sc16, sc16, 0x00);
  p.sc_hi = _mm256_permute2x128_si256(sc16, sc16, 0x11);
}

struct FmtQ2_K {
  using Block = qinfer_block_q2_k;
  static constexpr bool kSigned = false, kMins = true, kPer16 = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = kh2f(b.dmin);
    __m128i v = load16(b.scales), low = _mm_set1_epi8(0x0F);
    set_scales16(p, _mm256_cvtepu8_epi16(_mm_and_si128(v, low)));
    p.m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(v, 4), low));
  }
  static __m256i quants(const Block &b, int k) { return bits_of(load32(b.qs + 32 * (k / 4)), 2 * (k % 4), 3); }
};

// Q3_K: the 16 signed 6-bit scales (see qinfer_q3k_scale) from 12 packed bytes, as int8.
inline __m128i q3k_scales16(const uint8_t *packed) {
  uint64_t lo8;
  uint32_t hi4;
  std::memcpy(&lo8, packed, 8);
  std::memcpy(&hi4, packed + 8, 4);
  const __m128i m4 = _mm_set1_epi8(0x0F), v = _mm_cvtsi64_si128(int64_t(lo8));
  __m128i lo = _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
  __m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(int(hi4)), _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
  return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
}

struct FmtQ3_K {
  using Block = qinfer_block_q3_k;
  static constexpr bool kSigned = false, kMins = true, kPer16 = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = p.d;  // q - 4 folds into a "minimum" of 4 * scale
    __m256i sc16 = _mm256_cvtepi8_epi16(q3k_scales16(b.scales));
    set_scales16(p, sc16);
    p.m16 = _mm256_slli_epi16(sc16, 2);
  }
  static __m256i quants(const Block &b, int k) {
    __m256i lo = bits_of(load32(b.qs + 32 * (k / 4)), 2 * (k % 4), 3);
    __m256i hi = bits_of(load32(b.hmask), k, 1);
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 2));
  }
};

// Q4_K/Q5_K: the 8 six-bit scales and 8 minimums packed in 12 bytes (see qinfer_k4_scale_min), as bytes
// [scales 0..7, minimums 0..7]. Reads 16 bytes from `packed` (more of the same block follows the 12).
inline __m128i k4_unpack16(const uint8_t *packed) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(packed));
  // [a, c, b, c] and [0, a, 0, b] for the packed words a = bytes 0..3, b = 4..7, c = 8..11.
  const __m128i acbc = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i a0b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i lo = _mm_and_si128(_mm_srlv_epi32(acbc, _mm_setr_epi32(0, 0, 0, 4)), _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
  return _mm_or_si128(lo, _mm_and_si128(_mm_srli_epi16(a0b, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030)));
}
inline void k4_scales(const uint8_t *packed, KPrep &p) {
  const __m128i sm = k4_unpack16(packed);
  p.sc_lo = both_lanes(_mm_cvtepu8_epi16(sm));
  __m128i m8 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
  p.m16 = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
}

struct FmtQ4_K {
  using Block = qinfer_block_q4_k;
  static constexpr bool kSigned = false, kMins = true, kPer16 = false;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = kh2f(b.dmin);
    k4_scales(b.scales, p);
  }
  static __m256i quants(const Block &b, int k) { return bits_of(load32(b.qs + 32 * (k / 2)), 4 * (k % 2), 15); }
};

struct FmtQ5_K {
  using Block = qinfer_block_q5_k;
  static constexpr bool kSigned = false, kMins = true, kPer16 = false;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = kh2f(b.dmin);
    k4_scales(b.scales, p);
  }
  static __m256i quants(const Block &b, int k) {
    __m256i lo = bits_of(load32(b.qs + 32 * (k / 2)), 4 * (k % 2), 15);
    return _mm256_or_si256(lo, _mm256_slli_epi16(bits_of(load32(b.qh), k, 1), 4));
  }
};

struct FmtQ6_K {
  using Block = qinfer_block_q6_k;
  static constexpr bool kSigned = false, kMins = true, kPer16 = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = p.d;  // q - 32 folds into a "minimum" of 32 * scale
    __m256i sc16 = _mm256_cvtepi8_epi16(load16(b.scales));
    set_scales16(p, sc16);
    p.m16 = _mm256_slli_epi16(sc16, 5);
  }
  static __m256i quants(const Block &b, int k) {
    int h = k / 4, s = k % 4;
    __m256i lo = bits_of(load32(b.ql + 64 * h + 32 * (s & 1)), 4 * (s >> 1), 15);
    __m256i hi = bits_of(load32(b.qh + 32 * h), 2 * s, 3);
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
  }
};

struct FmtIQ4_XS {
  using Block = qinfer_block_iq4_xs;
  static constexpr bool kSigned = true, kMins = false, kPer16 = false;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = 0;
    alignas(16) int16_t sc[8];
    for (int g = 0; g < 8; g++)
      sc[g] = int16_t((((b.scales_l[g / 2] >> (4 * (g % 2))) & 15) | (((b.scales_h >> (2 * g)) & 3) << 4)) - 32);
    p.sc_lo = both_lanes(load16(sc));
    p.m16 = _mm256_setzero_si256();
  }
  static __m256i quants(const Block &b, int k) {
    __m128i q = load16(b.qs + 16 * k);
    const __m128i m = _mm_set1_epi8(0x0F);
    __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
    return _mm256_shuffle_epi8(both_lanes(load16(qinfer_iq4nl_values)), nib);
  }
};

// Group-scaled 8-bit dot product of one sub-block: 8 int32 lanes of sum_g sc[g] * dot_g(q, x).
template <bool kSigned>
inline __m256i scaled_dot(__m256i q, __m256i x, __m256i sc16) {
  __m256i p = kSigned ? _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q)) : _mm256_maddubs_epi16(q, x);
  return _mm256_madd_epi16(p, sc16);
}

template <class F>
struct KTile {
  template <int NR, int NT>
  struct Of {
    static void run(const GemmArgs &g, int64_t r, int64_t t) {
      const int64_t nb = g.cols / 256;
      const size_t ahead = prefetch_distance(g.w_stride, NR);
      const typename F::Block *w[NR];
      for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const typename F::Block *>(g.w + size_t(r + i) * g.w_stride);
      Act256 x[NT];
      for (int j = 0; j < NT; j++) x[j] = Act256(g.act + size_t(t + j) * g.act_stride, g.cols);
      __m256 acc[NR][NT];
      for (int i = 0; i < NR; i++)
        for (int j = 0; j < NT; j++) acc[i][j] = _mm256_setzero_ps();
      for (int64_t b = 0; b < nb; b++) {
        KPrep p[NR];
        for (int i = 0; i < NR; i++) {
          F::prepare(w[i][b], p[i]);
          prefetch_ahead(w[i] + b, sizeof(typename F::Block), ahead);
        }
        __m256i iacc[NR][NT];
        for (int i = 0; i < NR; i++)
          for (int j = 0; j < NT; j++) iacc[i][j] = _mm256_setzero_si256();
        for (int k = 0; k < 8; k++) {
          __m256i q[NR], sc[NR];
          for (int i = 0; i < NR; i++) {
            q[i] = F::quants(w[i][b], k);
            sc[i] = F::kPer16 ? scale16(p[i], k) : scale32(p[i], k);
          }
          for (int j = 0; j < NT; j++) {
            __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[j].qs + b * 256 + k * 32));
            for (int i = 0; i < NR; i++) iacc[i][j] = _mm256_add_epi32(iacc[i][j], scaled_dot<F::kSigned>(q[i], xv, sc[i]));
          }
        }
        for (int j = 0; j < NT; j++) {
          float dx = x[j].d[b];
          __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[j].bsums + b * 16));
          for (int i = 0; i < NR; i++) {
            acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[i][j]), _mm256_set1_ps(p[i].d * dx), acc[i][j]);
            if (F::kMins)
              acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p[i].m16, bs)), _mm256_set1_ps(-p[i].dmin * dx), acc[i][j]);
          }
        }
      }
      for (int j = 0; j < NT; j++)
        for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = hsum8(acc[i][j]);
    }
  };
};

template <class F>
constexpr GemmKernel k_kernel() {
  return GemmKernel{act256_bytes, quantize_act256, Tiler<KTile<F>::template Of, kQuantRows, kQuantTokens>::run};
}

void fill_kquant_table(Kernels &k) {
  k.gemm[QINFER_TYPE_Q2_K] = k_kernel<FmtQ2_K>();
  k.gemm[QINFER_TYPE_Q3_K] = k_kernel<FmtQ3_K>();
  k.gemm[QINFER_TYPE_Q4_K] = k_kernel<FmtQ4_K>();
  k.gemm[QINFER_TYPE_Q5_K] = k_kernel<FmtQ5_K>();
  k.gemm[QINFER_TYPE_Q6_K] = k_kernel<FmtQ6_K>();
  k.gemm[QINFER_TYPE_IQ4_XS] = k_kernel<FmtIQ4_XS>();
}

}  // namespace
}  // namespace qinfer::cpu
