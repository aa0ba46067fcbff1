// Q4_0 and Q8_0 products with one weight row per 128-bit lane, for the AVX-512 units: each int32 lane
// then sums a whole block for one (row, token) pair, so a block costs one float conversion and scale
// per 16 pairs instead of per pair of blocks and row. Batches read the tokens packed in groups of 4.
#pragma once

#include "matmul-legacy-impl.h"
#include "matmul-q4-avx512-impl.h"

namespace qinfer::cpu {
namespace {

// One Act32 block of 4 consecutive tokens, as the batched tiles read it: the 8 steps of 4 elements,
// each [token 0's 4 bytes, token 1's, token 2's, token 3's], then the 4 scales and the 4 d * sum(x).
struct alignas(16) Quad32 {
  int8_t qs[8][16];
  float d[4];
  float ds[4];
};

size_t quad32_bytes(int64_t cols) { return size_t(cols / 32) * sizeof(Quad32); }

// Tokens are Act32 rows `act_stride` bytes apart; writes cols / 32 Quad32 blocks.
void pack_quad32(const uint8_t *act, size_t act_stride, int64_t cols, uint8_t *out) {
  Act32 x[4];
  for (int j = 0; j < 4; j++) x[j] = Act32(act + size_t(j) * act_stride, cols);
  // Dword k of token j goes to position 4k + j: tokens 0/1 come from the first table, 2/3 from the second.
  const __m512i lo = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(4));
  Quad32 *q = reinterpret_cast<Quad32 *>(out);
  for (int64_t b = 0; b < cols / 32; b++, q++) {
    auto row = [&](int j) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x[j].qs + b * 32)); };
    __m512i t01 = _mm512_inserti64x4(_mm512_castsi256_si512(row(0)), row(1), 1);
    __m512i t23 = _mm512_inserti64x4(_mm512_castsi256_si512(row(2)), row(3), 1);
    _mm512_storeu_si512(q->qs[0], _mm512_permutex2var_epi32(t01, lo, t23));
    _mm512_storeu_si512(q->qs[4], _mm512_permutex2var_epi32(t01, hi, t23));
    for (int j = 0; j < 4; j++) {
      q->d[j] = x[j].d[b];
      q->ds[j] = x[j].ds[b];
    }
  }
}

// Formats: load() puts block b of 4 rows into lo (elements 0..15 of row i in 128-bit lane i) and hi
// (elements 16..31) as unsigned bytes, so that y = d * (dot(q, x) - kOffset * sum(x)).
struct LaneQ4_0 {
  using Block = qinfer_block_q4_0;
  static constexpr int kOffset = 8;
  // One token: Q4Pair (two blocks per register) decodes as fast and is the measured path.
  static constexpr bool kLaneMatvec = false;
  static void load(const Block *const *w, int64_t b, __m512i &lo, __m512i &hi) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i *>(w[0][b].qs)));
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i *>(w[1][b].qs)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i *>(w[2][b].qs)), 2);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i *>(w[3][b].qs)), 3);
    const __m512i m = _mm512_set1_epi8(0x0F);
    lo = _mm512_and_si512(v, m);
    hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m);
  }
};

// vpdpbusd only: without it the unsigned products could saturate maddubs' 16-bit sums.
struct LaneQ8_0 {
  using Block = qinfer_block_q8_0;
  static constexpr int kOffset = 128;
  static constexpr bool kLaneMatvec = true;  // 1.45x the 256-bit tile's rate in L2 (one core)
  static __m512i half(const Block *const *w, int64_t b, int o) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i *>(w[0][b].qs + o)));
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i *>(w[1][b].qs + o)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i *>(w[2][b].qs + o)), 2);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i *>(w[3][b].qs + o)), 3);
    return _mm512_xor_si512(v, _mm512_set1_epi8(char(0x80)));
  }
  static void load(const Block *const *w, int64_t b, __m512i &lo, __m512i &hi) {
    lo = half(w, b, 0);
    hi = half(w, b, 16);
  }
};

// The 4 rows' block scales, each repeated over its row's 4 lanes.
template <class B>
inline __m512 lane_scales(const B *const *w, int64_t b) {
  __m128i h = _mm_setr_epi16(short(w[0][b].d), short(w[1][b].d), short(w[2][b].d), short(w[3][b].d), 0, 0, 0, 0);
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_cvtph_ps(h)));
}

// Lane 4i + j summed over j: one value per row of the group, stored at y[0..3].
inline void store_row_sums(__m512 v, float *y) {
  // Rows are 128-bit lanes: add the dwords inside each lane.
  __m512 s = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));
  s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xB1));
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm_storeu_ps(y, _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, s)));
}

// One token (decode): R groups of 4 rows. Per block the token's 16-byte halves are broadcast to every lane.
template <class F, int R>
void lane_matvec(const GemmArgs &g, int64_t r, int64_t t) {
  const int64_t nb = g.cols / 32;
  const size_t ahead = prefetch_distance(g.w_stride, 4 * R);
  const typename F::Block *w[R][4];
  for (int k = 0; k < R; k++)
    for (int i = 0; i < 4; i++) w[k][i] = reinterpret_cast<const typename F::Block *>(g.w + size_t(r + 4 * k + i) * g.w_stride);
  const Act32 x(g.act + size_t(t) * g.act_stride, g.cols);
  __m512 acc[R];
  for (int k = 0; k < R; k++) acc[k] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const __m512i xlo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(x.qs + b * 32)));
    const __m512i xhi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i *>(x.qs + b * 32 + 16)));
    const __m512 dx = _mm512_set1_ps(x.d[b]);
    // Each row's 4 lanes share the offset term: a quarter each.
    const __m512 off = _mm512_set1_ps(-0.25f * float(F::kOffset) * x.ds[b]);
    for (int k = 0; k < R; k++) {
      __m512i lo, hi;
      F::load(w[k], b, lo, hi);
      if (b % 2 == 0)
        for (int i = 0; i < 4; i++) prefetch_ahead(w[k][i] + b, 64, ahead);
      __m512i s = dot_u8s8_512(dot_u8s8_512(_mm512_setzero_si512(), lo, xlo), hi, xhi);
      __m512 p = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dx, off);
      acc[k] = _mm512_fmadd_ps(p, lane_scales(w[k], b), acc[k]);
    }
  }
  for (int k = 0; k < R; k++) store_row_sums(acc[k], g.y + t * g.ldy + r + 4 * k);
}

// Step k (elements 4k..4k+3) of a block: each row's dword repeated over its lane.
template <int K>
inline __m512i lane_step(__m512i lo, __m512i hi) {
  return _mm512_shuffle_epi32(K < 4 ? lo : hi, _MM_PERM_ENUM((K % 4) * 0x55));
}

template <int K, int R, int T>
inline void lane_steps(const __m512i (&lo)[R], const __m512i (&hi)[R], const Quad32 *const (&x)[T], __m512i (&s)[R][T]) {
  if constexpr (K < 8) {
    __m512i a[R];
    for (int k = 0; k < R; k++) a[k] = lane_step<K>(lo[k], hi[k]);
    for (int j = 0; j < T; j++) {
      const __m512i xv = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i *>(x[j]->qs[K])));
      for (int k = 0; k < R; k++) s[k][j] = dot_u8s8_512(s[k][j], a[k], xv);
    }
    lane_steps<K + 1, R, T>(lo, hi, x, s);
  }
}

// R groups of 4 rows x T groups of 4 tokens (t a multiple of 4): lane 4i + j of acc[k][m] is row
// r + 4k + i against token t + 4m + j.
template <class F, int R, int T>
void lane_tile(const GemmArgs &g, int64_t r, int64_t t) {
  const int64_t nb = g.cols / 32;
  const typename F::Block *w[R][4];
  for (int k = 0; k < R; k++)
    for (int i = 0; i < 4; i++) w[k][i] = reinterpret_cast<const typename F::Block *>(g.w + size_t(r + 4 * k + i) * g.w_stride);
  const Quad32 *xq[T];
  for (int m = 0; m < T; m++) xq[m] = reinterpret_cast<const Quad32 *>(g.packed + size_t((t / 4) + m) * g.packed_stride);
  __m512 acc[R][T];
  for (int k = 0; k < R; k++)
    for (int m = 0; m < T; m++) acc[k][m] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m512i lo[R], hi[R];
    __m512 dw[R];
    for (int k = 0; k < R; k++) {
      F::load(w[k], b, lo[k], hi[k]);
      dw[k] = lane_scales(w[k], b);
    }
    const Quad32 *x[T];
    __m512i s[R][T];
    for (int m = 0; m < T; m++) {
      x[m] = xq[m] + b;
      for (int k = 0; k < R; k++) s[k][m] = _mm512_setzero_si512();
    }
    lane_steps<0, R, T>(lo, hi, x, s);
    for (int m = 0; m < T; m++) {
      const __m512 dx = _mm512_broadcast_f32x4(_mm_load_ps(x[m]->d));
      const __m512 off = _mm512_mul_ps(_mm512_broadcast_f32x4(_mm_load_ps(x[m]->ds)), _mm512_set1_ps(-float(F::kOffset)));
      for (int k = 0; k < R; k++) acc[k][m] = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_cvtepi32_ps(s[k][m]), dx, off), dw[k], acc[k][m]);
    }
  }
  // Lane 4i + j -> token j's row i: transpose each 4 x 4 group, then one 16-byte store per token.
  const __m512i tr = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int k = 0; k < R; k++)
    for (int m = 0; m < T; m++) {
      __m512 v = _mm512_permutexvar_ps(tr, acc[k][m]);
      float *y = g.y + (t + 4 * m) * g.ldy + r + 4 * k;
      _mm_storeu_ps(y, _mm512_castps512_ps128(v));
      _mm_storeu_ps(y + g.ldy, _mm512_extractf32x4_ps(v, 1));
      _mm_storeu_ps(y + 2 * g.ldy, _mm512_extractf32x4_ps(v, 2));
      _mm_storeu_ps(y + 3 * g.ldy, _mm512_extractf32x4_ps(v, 3));
    }
}

constexpr int kLaneRows = 2, kLaneTokens = 3;  // groups of 4: 6 int and 6 float accumulators

using RangeFn = void (*)(const GemmArgs &, int64_t, int64_t, int64_t, int64_t);

// Rows in groups of 4 (2 at a time) through the lane tiles; the last rows (fewer than 4), tokens
// outside full groups of 4 and unpacked batches (attention scores) through `rest`; one token through
// the lane matvec, or `decode` where the format has none.
template <class F, RangeFn rest, RangeFn decode = rest>
void lane_gemm(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  const int64_t r4 = r0 + (r1 - r0) / 4 * 4;
  if (t1 - t0 == 1 && !F::kLaneMatvec) return decode(g, r0, r1, t0, t1);
  if (t1 - t0 == 1) {
    int64_t r = r0;
    for (; r + 8 <= r4; r += 8) lane_matvec<F, 2>(g, r, t0);
    for (; r < r4; r += 4) lane_matvec<F, 1>(g, r, t0);
    if (r4 < r1) rest(g, r4, r1, t0, t1);
    return;
  }
  if (!g.packed || t0 % 4) return rest(g, r0, r1, t0, t1);
  const int64_t tq = t0 + (t1 - t0) / 4 * 4;
  for (int64_t t = t0; t < tq; t += 4 * kLaneTokens) {
    const int64_t groups = (tq - t) / 4 < kLaneTokens ? (tq - t) / 4 : kLaneTokens;
    int64_t r = r0;
    auto tiles = [&](auto tile2, auto tile1) {
      for (; r + 8 <= r4; r += 8) tile2(g, r, t);
      for (; r < r4; r += 4) tile1(g, r, t);
    };
    if (groups == 3) tiles(lane_tile<F, 2, 3>, lane_tile<F, 1, 3>);
    else if (groups == 2) tiles(lane_tile<F, 2, 2>, lane_tile<F, 1, 2>);
    else tiles(lane_tile<F, 2, 1>, lane_tile<F, 1, 1>);
    if (r4 < r1) rest(g, r4, r1, t, t + 4 * groups);
  }
  if (tq < t1) rest(g, r0, r1, tq, t1);
}

void fill_lanes_avx512(Kernels &k) {
  // Decode: 8 rows a tile (the token's per-pair work is shared by more rows; 1.1x over 4 in L2).
  k.gemm[QINFER_TYPE_Q4_0] = GemmKernel{act32_bytes, quantize_act32,
                                        lane_gemm<LaneQ4_0, Tiler<Q4Pair, kQuantRows, kQuantTokens>::run, Tiler<Q4Pair, 8, 1>::run>,
                                        quad32_bytes, pack_quad32};
#ifdef QINFER_USE_VNNI
  k.gemm[QINFER_TYPE_Q8_0] = GemmKernel{act32_bytes, quantize_act32,
                                        lane_gemm<LaneQ8_0, Tiler<LegacyTile<FmtQ8_0>::template Of, kQuantRows, kQuantTokens>::run>,
                                        quad32_bytes, pack_quad32};
#endif
}

}  // namespace
}  // namespace qinfer::cpu
