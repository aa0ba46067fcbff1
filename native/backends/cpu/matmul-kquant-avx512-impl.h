// Q4_K, Q5_K and Q6_K products two sub-blocks (64 weights) per 512-bit register, for the AVX-512 units:
// the decode-critical K-quants. Same arithmetic as matmul-kquant-impl.h (whose KPrep minimums it reuses).
#pragma once

#include "matmul-kquant-impl.h"

namespace qinfer::cpu {
namespace {

inline __m512i load64(const uint8_t *p) { return _mm512_loadu_si512(p); }

// [v, v >> shift] as one register.
inline __m512i with_shifted(__m256i v, int shift) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), 1);
}
inline __m512i bits512(__m512i v, int shift, int mask) {
  return _mm512_and_si512(_mm512_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm512_set1_epi8(char(mask)));
}

// Index tables of vpermw: sub-block pair p covers groups 4p..4p+3, 8 int16 lanes each.
alignas(64) const uint16_t kPairGroups[4][32] = {
#define QINFER_G(g) g, g, g, g, g, g, g, g
    {QINFER_G(0), QINFER_G(1), QINFER_G(2), QINFER_G(3)},
    {QINFER_G(4), QINFER_G(5), QINFER_G(6), QINFER_G(7)},
    {QINFER_G(8), QINFER_G(9), QINFER_G(10), QINFER_G(11)},
    {QINFER_G(12), QINFER_G(13), QINFER_G(14), QINFER_G(15)},
#undef QINFER_G
};

// Each format: scales of its 16 groups of 16 as int16 (sub-block scales repeated), and pair p's weights.
struct Fmt512Q4_K : FmtQ4_K {
  static __m256i group_scales(const KPrep &p) {
    __m128i sc8 = _mm256_castsi256_si128(p.sc_lo);
    return _mm256_set_m128i(_mm_unpackhi_epi16(sc8, sc8), _mm_unpacklo_epi16(sc8, sc8));
  }
  static __m512i pair(const Block &b, int p) { return bits512(with_shifted(load32(b.qs + 32 * p), 4), 0, 15); }
};

struct Fmt512Q5_K : FmtQ5_K {
  static __m256i group_scales(const KPrep &p) { return Fmt512Q4_K::group_scales(p); }
  static __m512i pair(const Block &b, int p) {
    __m512i lo = bits512(with_shifted(load32(b.qs + 32 * p), 4), 0, 15);
    __m512i hi = bits512(with_shifted(bits_of(load32(b.qh), 2 * p, 3), 1), 0, 1);
    return _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
  }
};

struct Fmt512Q6_K : FmtQ6_K {
  static __m256i group_scales(const KPrep &p) { return _mm256_permute2x128_si256(p.sc_lo, p.sc_hi, 0x20); }
  static __m512i pair(const Block &b, int p) {
    const int h = p / 2, upper = p % 2;  // pair 0: sub-blocks 0,1 (low nibbles), pair 1: 2,3 (high)
    __m512i lo = bits512(load64(b.ql + 64 * h), 4 * upper, 15);
    __m512i hi = bits512(with_shifted(load32(b.qh + 32 * h), 2), 4 * upper, 3);
    return _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
  }
};

template <class F>
struct KTile512 {
  template <int NR, int NT>
  struct Of {
    static void run(const GemmArgs &g, int64_t r, int64_t t) {
      const int64_t nb = g.cols / 256;
      const size_t ahead = prefetch_distance(g.w_stride, NR);
      const typename F::Block *w[NR];
      for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const typename F::Block *>(g.w + size_t(r + i) * g.w_stride);
      Act256 x[NT];
      for (int j = 0; j < NT; j++) x[j] = Act256(g.act + size_t(t + j) * g.act_stride, g.cols);
      __m512 acc[NR][NT];
      for (int i = 0; i < NR; i++)
        for (int j = 0; j < NT; j++) acc[i][j] = _mm512_setzero_ps();
      for (int64_t b = 0; b < nb; b++) {
        KPrep p[NR];
        __m512i sc[NR];
        for (int i = 0; i < NR; i++) {
          F::prepare(w[i][b], p[i]);
          prefetch_ahead(w[i] + b, sizeof(typename F::Block), ahead);
          sc[i] = _mm512_castsi256_si512(F::group_scales(p[i]));
        }
        __m512i iacc[NR][NT];
        for (int i = 0; i < NR; i++)
          for (int j = 0; j < NT; j++) iacc[i][j] = _mm512_setzero_si512();
        for (int pr = 0; pr < 4; pr++) {
          __m512i q[NR], s[NR];
          const __m512i idx = _mm512_load_si512(kPairGroups[pr]);
          for (int i = 0; i < NR; i++) {
            q[i] = F::pair(w[i][b], pr);
            s[i] = _mm512_permutexvar_epi16(idx, sc[i]);
          }
          for (int j = 0; j < NT; j++) {
            __m512i xv = _mm512_loadu_si512(x[j].qs + b * 256 + pr * 64);
            for (int i = 0; i < NR; i++)
              iacc[i][j] = _mm512_add_epi32(iacc[i][j], _mm512_madd_epi16(_mm512_maddubs_epi16(q[i], xv), s[i]));
          }
        }
        for (int j = 0; j < NT; j++) {
          float dx = x[j].d[b];
          __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[j].bsums + b * 16));
          for (int i = 0; i < NR; i++) {
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[i][j]), _mm512_set1_ps(p[i].d * dx), acc[i][j]);
            __m512i mins = _mm512_zextsi256_si512(_mm256_madd_epi16(p[i].m16, bs));
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mins), _mm512_set1_ps(-p[i].dmin * dx), acc[i][j]);
          }
        }
      }
      for (int j = 0; j < NT; j++)
        for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]);
    }
  };
};

template <class F>
constexpr GemmKernel k512_kernel() {
  return GemmKernel{act256_bytes, quantize_act256, Tiler<KTile512<F>::template Of, kQuantRows, kQuantTokens>::run};
}

void fill_kquant_avx512(Kernels &k) {
  k.gemm[QINFER_TYPE_Q4_K] = k512_kernel<Fmt512Q4_K>();
  k.gemm[QINFER_TYPE_Q5_K] = k512_kernel<Fmt512Q5_K>();
  k.gemm[QINFER_TYPE_Q6_K] = k512_kernel<Fmt512Q6_K>();
}

}  // namespace
}  // namespace qinfer::cpu
