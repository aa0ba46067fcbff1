// Products with the 256-element super-block formats (Q2_K..Q6_K, IQ4_XS) against Act256 activations.
// Each format unpacks a sub-block of 32 weights into bytes plus 16-bit group scales; integer sums are
// scaled per group in 16-bit lanes (maddubs + madd) and converted to float once per super-block.
#pragma once

#include <cstring>

#include "quant-act-impl.h"
#include "tiler.h"

namespace qinfer::cpu {
namespace {

// Per-row state of one super-block: y = d * sum_g sc[g] * dot_g(q, x) - dmin * sum_g m[g] * bsum_g(x),
// over the 16 groups of 16.
struct KPrep {
  float d, dmin;
  alignas(32) int16_t sc[16];
  alignas(32) int16_t m[16];
};

inline float kh2f(qinfer_half h) { return _cvtsh_ss(h); }

inline __m256i load32(const uint8_t *p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)); }

// Bits [shift, shift + width) of every byte of v (shift and width small).
inline __m256i bits_of(__m256i v, int shift, int mask) {
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(char(mask)));
}

struct FmtQ2_K {
  using Block = qinfer_block_q2_k;
  static constexpr bool kSigned = false, kMins = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = kh2f(b.dmin);
    for (int g = 0; g < 16; g++) {
      p.sc[g] = int16_t(b.scales[g] & 15);
      p.m[g] = int16_t(b.scales[g] >> 4);
    }
  }
  static __m256i quants(const Block &b, int k) { return bits_of(load32(b.qs + 32 * (k / 4)), 2 * (k % 4), 3); }
};

struct FmtQ3_K {
  using Block = qinfer_block_q3_k;
  static constexpr bool kSigned = false, kMins = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = p.d;  // q - 4 folds into a "minimum" of 4 * scale
    for (int g = 0; g < 16; g++) {
      p.sc[g] = int16_t(qinfer_q3k_scale(g, b.scales));
      p.m[g] = int16_t(4 * p.sc[g]);
    }
  }
  static __m256i quants(const Block &b, int k) {
    __m256i lo = bits_of(load32(b.qs + 32 * (k / 4)), 2 * (k % 4), 3);
    __m256i hi = bits_of(load32(b.hmask), k, 1);
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 2));
  }
};

inline void k4_scales(const uint8_t *packed, KPrep &p) {
  for (int j = 0; j < 8; j++) {
    uint8_t sc, m;
    qinfer_k4_scale_min(j, packed, &sc, &m);
    p.sc[2 * j] = p.sc[2 * j + 1] = sc;
    p.m[2 * j] = p.m[2 * j + 1] = m;
  }
}

struct FmtQ4_K {
  using Block = qinfer_block_q4_k;
  static constexpr bool kSigned = false, kMins = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = kh2f(b.dmin);
    k4_scales(b.scales, p);
  }
  static __m256i quants(const Block &b, int k) { return bits_of(load32(b.qs + 32 * (k / 2)), 4 * (k % 2), 15); }
};

struct FmtQ5_K {
  using Block = qinfer_block_q5_k;
  static constexpr bool kSigned = false, kMins = true;
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
  static constexpr bool kSigned = false, kMins = true;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = p.d;  // q - 32 folds into a "minimum" of 32 * scale
    for (int g = 0; g < 16; g++) {
      p.sc[g] = b.scales[g];
      p.m[g] = int16_t(32 * b.scales[g]);
    }
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
  static constexpr bool kSigned = true, kMins = false;
  static void prepare(const Block &b, KPrep &p) {
    p.d = kh2f(b.d);
    p.dmin = 0;
    for (int g = 0; g < 8; g++) {
      int ls = ((b.scales_l[g / 2] >> (4 * (g % 2))) & 15) | (((b.scales_h >> (2 * g)) & 3) << 4);
      p.sc[2 * g] = p.sc[2 * g + 1] = int16_t(ls - 32);
    }
  }
  static __m256i quants(const Block &b, int k) {
    __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(b.qs + 16 * k));
    const __m128i m = _mm_set1_epi8(0x0F);
    __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(qinfer_iq4nl_values)));
    return _mm256_shuffle_epi8(table, nib);
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
      const typename F::Block *w[NR];
      for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const typename F::Block *>(g.w + size_t(r + i) * g.w_stride);
      Act256 x[NT];
      for (int j = 0; j < NT; j++) x[j] = Act256(g.act + size_t(t + j) * g.act_stride, g.cols);
      __m256 acc[NR][NT];
      float corr[NR][NT] = {};
      for (int i = 0; i < NR; i++)
        for (int j = 0; j < NT; j++) acc[i][j] = _mm256_setzero_ps();
      for (int64_t b = 0; b < nb; b++) {
        KPrep p[NR];
        for (int i = 0; i < NR; i++) F::prepare(w[i][b], p[i]);
        __m256i iacc[NR][NT];
        for (int i = 0; i < NR; i++)
          for (int j = 0; j < NT; j++) iacc[i][j] = _mm256_setzero_si256();
        for (int k = 0; k < 8; k++) {
          __m256i q[NR], sc[NR];
          for (int i = 0; i < NR; i++) {
            q[i] = F::quants(w[i][b], k);
            sc[i] = _mm256_set_m128i(_mm_set1_epi16(p[i].sc[2 * k + 1]), _mm_set1_epi16(p[i].sc[2 * k]));
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
            if (F::kMins) {
              __m256i mv = _mm256_load_si256(reinterpret_cast<const __m256i *>(p[i].m));
              corr[i][j] -= p[i].dmin * dx * float(hsum8_epi32(_mm256_madd_epi16(mv, bs)));
            }
          }
        }
      }
      for (int j = 0; j < NT; j++)
        for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = hsum8(acc[i][j]) + corr[i][j];
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
