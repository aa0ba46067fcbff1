// K-quant products (Q2_K..Q6_K) for the AVX-512 units, 64 weights (one register) per step, in their
// natural order. vpdpbusd leaves int32 lanes that each sum 4 weight-activation products: |sum| <=
// 4 * 63 * 127 < 2^15, so every lane is exact as its low int16. vpdpwssd then multiplies that int16 by the
// lane's group scale (whose high int16 is zero, so the sign-extension half adds nothing) and accumulates:
// two instructions per register with VNNI (without it, maddubs + madd stand in for each; the pair sums of
// maddubs stay below 2 * 63 * 127, so nothing saturates). The weights are unpacked from whole 256/512-bit
// loads with per-half shift counts instead of lane inserts. Minimums and offsets fold in through the
// activation group sums; one conversion and one fma per super-block and row.
#pragma once

#include "matmul-kquant-impl.h"

namespace qinfer::cpu {
namespace {

inline __m512i bcast256(const uint8_t *p) { return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p))); }
// Shift or rotate counts: a for the low 256 bits, b for the high.
inline __m512i counts16(int a, int b) { return _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16(short(a)), _mm512_set1_epi16(short(b))); }
inline __m512i counts32(int a, int b) { return _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(a), _mm512_set1_epi32(b)); }
inline __m512i bytes_of(int v) { return _mm512_set1_epi8(char(v)); }
// lo | (hi & mask), one vpternlogd.
inline __m512i merge_bits(__m512i lo, __m512i hi, int mask) { return _mm512_ternarylogic_epi32(lo, hi, bytes_of(mask), 0xF8); }
// Bit k of every byte of v moved to bit `to` (rotating 32-bit lanes: a byte's bit k never crosses into
// another byte's bit `to`), for the low half's k = a and the high half's k = b.
inline __m512i bit_to(__m512i v, int a, int b, int to) { return _mm512_rolv_epi32(v, counts32((to - a) & 31, (to - b) & 31)); }

// How a format's minimums (or offsets) enter: kMerged formats have an offset that is a multiple of each
// group's scale (Q3_K: 4, Q6_K: 32), so -offset * scale * (group sum of x) joins the integer dot product
// exactly; the others scale their minimums by a dmin of their own, so the minimums' sums travel in lanes
// 8..15 beside the dot product's (folded into lanes 0..7) and one conversion and fma serves both.
enum class Mins { kMerged, kPer32, kPer16 };

// Per-row state of one super-block. s: group scales as int32 lanes (8 sub-block scales, or 16 group
// scales; kChunkScales picks from them). m: what multiplies the activation sums (-offset * scale for
// kMerged; for kPer32 the 8 minimums in lanes 8..15, beside the scales, so m = s; 16 minimums for kPer16).
// Every lane's high int16 is zero, as vpdpwssd and vpmaddwd need. dv: [d x8, dmin x8] (dmin unused when
// kMerged).
struct VPrep {
  __m512i s, m;
  __m512 dv;
};
inline __m512i low16(__m512i v) { return _mm512_and_si512(v, _mm512_set1_epi32(0xFFFF)); }
// [d x8, dmin x8] from two consecutive halves.
inline __m512 d_dmin(const qinfer_half *h) {
  uint32_t both;
  std::memcpy(&both, h, 4);
  const __m512 v = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(int(both))));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), v);
}

// Q2_K/Q3_K low bits: 2-bit planes 2(c % 2) and 2(c % 2) + 1 of the 32 bytes of half c / 2.
inline __m512i two_bit_chunk(const uint8_t *qs, int c) {
  const int j = 2 * (c % 2);
  return _mm512_and_si512(_mm512_srlv_epi16(bcast256(qs + 32 * (c / 2)), counts16(2 * j, 2 * j + 2)), bytes_of(3));
}
inline __m512i nibble_chunk(const uint8_t *qs, int c) {
  return _mm512_and_si512(_mm512_srlv_epi16(bcast256(qs + 32 * c), counts16(0, 4)), bytes_of(15));
}
inline void k4_prepare(const qinfer_half *d_dmin_pair, const uint8_t *packed, VPrep &p) {
  p.dv = d_dmin(d_dmin_pair);
  p.s = p.m = _mm512_cvtepu8_epi32(k4_unpack16(packed));
}
// kMerged formats: int8 group scales and the offset they multiply, 1 << offset_log2.
inline void merged_scales(qinfer_half d, int offset_log2, __m128i sc8, VPrep &p) {
  p.dv = _mm512_set1_ps(kh2f(d));
  const __m512i sc = _mm512_cvtepi8_epi32(sc8);
  p.s = low16(sc);
  p.m = low16(_mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sc, offset_log2)));
}

// chunk(b, c): weights 64c .. 64c + 63 of a super-block as unsigned bytes.
struct Fmt512Q2_K {
  using Block = qinfer_block_q2_k;
  static constexpr Mins kMins = Mins::kPer16;
  static void prepare(const Block &b, VPrep &p) {
    p.dv = d_dmin(&b.d);
    __m512i v = _mm512_cvtepu8_epi32(load16(b.scales));
    p.s = _mm512_and_si512(v, _mm512_set1_epi32(15));
    p.m = _mm512_srli_epi32(v, 4);
  }
  static __m512i chunk(const Block &b, int c) { return two_bit_chunk(b.qs, c); }
};

struct Fmt512Q3_K {
  using Block = qinfer_block_q3_k;
  static constexpr Mins kMins = Mins::kMerged;
  static void prepare(const Block &b, VPrep &p) { merged_scales(b.d, 2, q3k_scales16(b.scales), p); }
  static __m512i chunk(const Block &b, int c) {
    return merge_bits(two_bit_chunk(b.qs, c), bit_to(bcast256(b.hmask), 2 * c, 2 * c + 1, 2), 0x04);
  }
};

struct Fmt512Q4_K {
  using Block = qinfer_block_q4_k;
  static constexpr Mins kMins = Mins::kPer32;
  static void prepare(const Block &b, VPrep &p) { k4_prepare(&b.d, b.scales, p); }
  static __m512i chunk(const Block &b, int c) { return nibble_chunk(b.qs, c); }
};

struct Fmt512Q5_K {
  using Block = qinfer_block_q5_k;
  static constexpr Mins kMins = Mins::kPer32;
  static void prepare(const Block &b, VPrep &p) { k4_prepare(&b.d, b.scales, p); }
  static __m512i chunk(const Block &b, int c) {
    return merge_bits(nibble_chunk(b.qs, c), bit_to(bcast256(b.qh), 2 * c, 2 * c + 1, 4), 0x10);
  }
};

struct Fmt512Q6_K {
  using Block = qinfer_block_q6_k;
  static constexpr Mins kMins = Mins::kMerged;
  static void prepare(const Block &b, VPrep &p) { merged_scales(b.d, 5, load16(b.scales), p); }
  static __m512i chunk(const Block &b, int c) {
    // Half h (128 weights): 64 bytes of low nibbles (weights 0..63, then 64..127 in the high nibbles)
    // and 32 bytes of 2-bit pairs (pair k of byte l belongs to weight 32k + l).
    const int h = c / 2, upper = c % 2;
    __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
    __m512i lo = _mm512_and_si512(upper ? _mm512_srli_epi16(ql, 4) : ql, bytes_of(15));
    __m512i hi = _mm512_rolv_epi32(bcast256(b.qh + 32 * h), upper ? counts32(0, 30) : counts32(4, 2));
    return merge_bits(lo, hi, 0x30);
  }
};

// The lanes of s that chunk c's 16 dot lanes take their scales from: sub-blocks 2c and 2c + 1 (per-32
// scales), or groups of 16 number 4c .. 4c + 3.
alignas(64) const int32_t kChunkScales[2][4][16] = {
    {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
     {4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7},
     {8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11},
     {12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15}},
    {{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
     {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
     {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
     {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7}},
};

// A token's activation sums of one super-block, negated, in the lanes VPrep::m meets: pair sums (per 32)
// in lanes 8..15 with zeros below, or the 16 group sums.
template <Mins kMins>
inline __m512i act_sums(const int16_t *bsums) {
  __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(bsums));
  if (kMins == Mins::kPer32) return _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_madd_epi16(bs, _mm256_set1_epi16(-1)), 1);
  if (kMins == Mins::kPer16) return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_cvtepi16_epi32(bs));
  return _mm512_cvtepi16_epi32(bs);  // kMerged: the minus is in m
}

// The scaled dot product's 16 lanes folded into lanes 0..7 and the minimums' into 8..15.
template <Mins kMins>
inline __m512i fold_mins(__m512i dot, __m512i mins) {
  const __m512i dot_swapped = _mm512_shuffle_i64x2(dot, dot, 0x4E);
  if (kMins == Mins::kPer32) return _mm512_mask_add_epi32(mins, 0x00FF, dot, dot_swapped);  // mins are 0 in 0..7
  return _mm512_mask_blend_epi32(0xFF00, _mm512_add_epi32(dot, dot_swapped), _mm512_add_epi32(mins, _mm512_shuffle_i64x2(mins, mins, 0x4E)));
}

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
        VPrep p[NR];
        for (int i = 0; i < NR; i++) {
          F::prepare(w[i][b], p[i]);
          prefetch_ahead(w[i] + b, sizeof(typename F::Block), ahead);
        }
        __m512i iacc[NR][NT];
        for (int i = 0; i < NR; i++)
          for (int j = 0; j < NT; j++) iacc[i][j] = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
          __m512i q[NR], s[NR];
          const __m512i idx = _mm512_load_si512(kChunkScales[F::kMins == Mins::kPer32][c]);
          for (int i = 0; i < NR; i++) {
            q[i] = F::chunk(w[i][b], c);
            s[i] = _mm512_permutexvar_epi32(idx, p[i].s);
          }
          for (int j = 0; j < NT; j++) {
            __m512i xv = _mm512_loadu_si512(x[j].qs + b * 256 + c * 64);
            for (int i = 0; i < NR; i++)
              iacc[i][j] = dot_s16_512(iacc[i][j], dot_u8s8_512(_mm512_setzero_si512(), q[i], xv), s[i]);
          }
        }
        for (int j = 0; j < NT; j++) {
          const __m512 dx = _mm512_set1_ps(x[j].d[b]);
          const __m512i sums = act_sums<F::kMins>(x[j].bsums + b * 16);
          for (int i = 0; i < NR; i++) {
            __m512i v = F::kMins == Mins::kMerged ? dot_s16_512(iacc[i][j], p[i].m, sums)
                                                  : fold_mins<F::kMins>(iacc[i][j], _mm512_madd_epi16(p[i].m, sums));
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(p[i].dv, dx), acc[i][j]);
          }
        }
      }
      for (int j = 0; j < NT; j++)
        for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]);
    }
  };
};

// One token: 4 rows a tile share the token's loads. Batches: 2 rows x 4 tokens keep the 8 integer and 8
// float accumulators and their operands in registers (4 x 4 spills; 2 x 4 runs 1.1-1.2x faster for
// Q2_K/Q3_K/Q5_K/Q6_K in L2, Q4_K level).
template <class F>
void k512_gemm(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  if (t1 - t0 == 1) return Tiler<KTile512<F>::template Of, 4, 1>::run(g, r0, r1, t0, t1);
  Tiler<KTile512<F>::template Of, 2, 4>::run(g, r0, r1, t0, t1);
}

template <class F>
constexpr GemmKernel k512_kernel() {
  return GemmKernel{act256_bytes, quantize_act256, k512_gemm<F>};
}

void fill_kquant_avx512(Kernels &k) {
  k.gemm[QINFER_TYPE_Q2_K] = k512_kernel<Fmt512Q2_K>();
  k.gemm[QINFER_TYPE_Q3_K] = k512_kernel<Fmt512Q3_K>();
  k.gemm[QINFER_TYPE_Q4_K] = k512_kernel<Fmt512Q4_K>();
  k.gemm[QINFER_TYPE_Q5_K] = k512_kernel<Fmt512Q5_K>();
  k.gemm[QINFER_TYPE_Q6_K] = k512_kernel<Fmt512Q6_K>();
}

}  // namespace
}  // namespace qinfer::cpu
