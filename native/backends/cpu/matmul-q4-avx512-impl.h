// Q4_0 products two blocks per 512-bit register (the decode-critical format), for the AVX-512 units;
// Act32 activations as in matmul-legacy-impl.h, whose 256-bit code handles an odd last block.
#pragma once

#include "matmul-legacy-impl.h"

namespace qinfer::cpu {
namespace {

// Blocks b and b+1 of a Q4_0 row as 64 bytes [lo b, lo b+1, hi b, hi b+1] (16 elements each); the
// activations are put in the same order once per token, so the weights need no lane shuffle.
inline __m512i q4_pair(const qinfer_block_q4_0 *blk) {
  __m256i both = _mm256_loadu2_m128i(reinterpret_cast<const __m128i *>(blk[1].qs), reinterpret_cast<const __m128i *>(blk[0].qs));
  __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(both), _mm256_srli_epi16(both, 4), 1);
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

// The int32 lanes of a pair product belong to blocks [b x4, b+1 x4, b x4, b+1 x4].
inline __m512i pair_index() { return _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1); }

// The two blocks' fp16 scales spread over their lanes.
inline __m512 pair_scales(const qinfer_block_q4_0 *blk) {
  uint32_t h = uint32_t(blk[0].d) | uint32_t(blk[1].d) << 16;
  return _mm512_permutexvar_ps(pair_index(), _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(int(h)))));
}

// One block's product with block b of a token, for an odd last block.
inline float q4_block_dot(const qinfer_block_q4_0 &blk, const Act32 &x, int64_t b) {
  __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x.qs + b * 32));
  __m256i base = _mm256_sub_epi32(_mm256_setzero_si256(), dot_u8s8(_mm256_setzero_si256(), _mm256_set1_epi8(8), xv));
  return hsum8(_mm256_cvtepi32_ps(dot_u8s8(base, FmtQ4_0::decode(blk).q, xv))) * h2f(blk.d) * x.d[b];
}

// Blocks b and b+1 in the pair layout from two broadcasts: [qs b, qs b+1, qs b, qs b+1], the upper half
// shifted by 4 (one masked broadcast, a shift and a mask; no lane inserts).
inline __m512i q4_pair_bcast(const qinfer_block_q4_0 *blk) {
  __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(blk[0].qs)));
  v = _mm512_mask_broadcast_i32x4(v, 0xF0F0, _mm_loadu_si128(reinterpret_cast<const __m128i *>(blk[1].qs)));
  const __m512i shift = _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_setzero_si512(), _mm512_set1_epi16(4));
  return _mm512_and_si512(_mm512_srlv_epi16(v, shift), _mm512_set1_epi8(0x0F));
}

// Pair p of a group of 16 blocks takes its scales from elements 2p, 2p + 1 in the pair's lane order.
alignas(64) const int32_t kGroupPairScales[8][16] = {
#define QINFER_P(p) {2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, \
                     2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1}
    QINFER_P(0), QINFER_P(1), QINFER_P(2), QINFER_P(3), QINFER_P(4), QINFER_P(5), QINFER_P(6), QINFER_P(7),
#undef QINFER_P
};

// One token (decode), NR rows, groups of 16 blocks: the 16 fp16 scales of a row are gathered and
// multiplied by the token's 16 block scales at once, so
// a pair of blocks costs one permute, one dot product, one conversion and one fma per row.
template <int NR>
inline int64_t q4_decode_groups(const GemmArgs &g, int64_t r, int64_t t, float (&out)[NR]) {
  const int64_t nb = g.cols / 32;
  const size_t ahead = prefetch_distance(g.w_stride, NR);
  const qinfer_block_q4_0 *w[NR];
  for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const qinfer_block_q4_0 *>(g.w + size_t(r + i) * g.w_stride);
  const Act32 x(g.act + size_t(t) * g.act_stride, g.cols);
  const __m512i offsets = strided_offsets(sizeof(qinfer_block_q4_0));
  __m512 acc[NR];
  for (int i = 0; i < NR; i++) acc[i] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 16) {
    const int pairs = int(nb - b < 16 ? (nb - b) / 2 : 8);
    const __mmask16 valid = __mmask16((1u << (2 * pairs)) - 1);
    const __m512 dx = _mm512_maskz_loadu_ps(valid, x.d + b);
    __m512 dwx[NR];
    for (int i = 0; i < NR; i++) dwx[i] = _mm512_mul_ps(gather_block_scales(&w[i][b].d, offsets, valid), dx);
    for (int p = 0; p < pairs; p++) {
      const int64_t bp = b + 2 * p;
      __m512i xv = _mm512_loadu_si512(x.qs + bp * 32);
      xv = _mm512_shuffle_i64x2(xv, xv, _MM_SHUFFLE(3, 1, 2, 0));
      const __m512i base = _mm512_sub_epi32(_mm512_setzero_si512(), dot_u8s8_512(_mm512_setzero_si512(), _mm512_set1_epi8(8), xv));
      const __m512i idx = _mm512_load_si512(kGroupPairScales[p]);
      for (int i = 0; i < NR; i++) {
        prefetch_ahead(w[i] + bp, 64, ahead);
        __m512 s = _mm512_cvtepi32_ps(dot_u8s8_512(base, q4_pair_bcast(w[i] + bp), xv));
        acc[i] = _mm512_fmadd_ps(s, _mm512_permutexvar_ps(idx, dwx[i]), acc[i]);
      }
    }
    if (pairs < 8) {
      b += 2 * pairs;
      break;
    }
  }
  for (int i = 0; i < NR; i++) out[i] = _mm512_reduce_add_ps(acc[i]);
  return b;
}

template <int NR, int NT>
struct Q4Pair {
  static void run(const GemmArgs &g, int64_t r, int64_t t) {
    if constexpr (NT == 1) return decode(g, r, t);
    const int64_t nb = g.cols / 32;
    const size_t ahead = prefetch_distance(g.w_stride, NR);
    const qinfer_block_q4_0 *w[NR];
    for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const qinfer_block_q4_0 *>(g.w + size_t(r + i) * g.w_stride);
    Act32 x[NT];
    for (int j = 0; j < NT; j++) x[j] = Act32(g.act + size_t(t + j) * g.act_stride, g.cols);
    __m512 acc[NR][NT];
    for (int i = 0; i < NR; i++)
      for (int j = 0; j < NT; j++) acc[i][j] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      __m512i q[NR];
      __m512 dw[NR];
      for (int i = 0; i < NR; i++) {
        q[i] = q4_pair(w[i] + b);
        prefetch_ahead(w[i] + b, 64, ahead);
        dw[i] = pair_scales(w[i] + b);
      }
      for (int j = 0; j < NT; j++) {
        __m512i xv = _mm512_loadu_si512(x[j].qs + b * 32);
        xv = _mm512_shuffle_i64x2(xv, xv, _MM_SHUFFLE(3, 1, 2, 0));
        __m512i base = _mm512_sub_epi32(_mm512_setzero_si512(), dot_u8s8_512(_mm512_setzero_si512(), _mm512_set1_epi8(8), xv));
        __m512 dx = _mm512_permutexvar_ps(pair_index(), _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double *>(x[j].d + b)))));
        for (int i = 0; i < NR; i++) {
          __m512 p = _mm512_cvtepi32_ps(dot_u8s8_512(base, q[i], xv));
          acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(p, dx), dw[i], acc[i][j]);
        }
      }
    }
    float tail[NR][NT] = {};
    if (b < nb)
      for (int j = 0; j < NT; j++)
        for (int i = 0; i < NR; i++) tail[i][j] = q4_block_dot(w[i][b], x[j], b);
    for (int j = 0; j < NT; j++)
      for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]) + tail[i][j];
  }
  static void decode(const GemmArgs &g, int64_t r, int64_t t);
};

template <int NR, int NT>
void Q4Pair<NR, NT>::decode(const GemmArgs &g, int64_t r, int64_t t) {
  float y[NR];
  const int64_t b = q4_decode_groups<NR>(g, r, t, y);
  if (b < g.cols / 32) {  // an odd last block
    const Act32 x(g.act + size_t(t) * g.act_stride, g.cols);
    for (int i = 0; i < NR; i++) y[i] += q4_block_dot(reinterpret_cast<const qinfer_block_q4_0 *>(g.w + size_t(r + i) * g.w_stride)[b], x, b);
  }
  for (int i = 0; i < NR; i++) g.y[t * g.ldy + r + i] = y[i];
}

}  // namespace
}  // namespace qinfer::cpu
