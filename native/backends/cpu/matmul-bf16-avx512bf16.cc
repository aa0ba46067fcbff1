// BF16 products with vdpbf16ps (activations rounded to bf16, as the reference does); compiled with
// -mavx512bf16 and used by the avx512vnni table only when cpuid reports avx512_bf16.
// GCC 12 reports its own _mm512_undefined_* helpers as uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "kernels.h"
#include "tiler.h"

namespace qinfer::cpu {
namespace {

// Pairs of bf16: cols rounded up to an even count, the odd tail padded with zero.
size_t bf16_act_bytes(int64_t cols) { return size_t((cols + 1) / 2) * 4; }

void bf16_act(const float *x, void *act, int64_t cols) {
  auto *y = static_cast<qinfer_bf16 *>(act);
  for (int64_t i = 0; i < cols; i++) y[i] = qinfer_f32_to_bf16(x[i]);
  if (cols % 2) y[cols] = 0;
}

// 32 bf16 from p (n of them valid, the rest zero) as 16 pairs.
inline __m512bh load_pairs(const qinfer_bf16 *p, int n) {
  __mmask32 m = n >= 32 ? ~__mmask32(0) : __mmask32((1u << n) - 1);
  return reinterpret_cast<__m512bh>(_mm512_maskz_loadu_epi16(m, p));
}

template <int NR, int NT>
struct Bf16Tile {
  static void run(const GemmArgs &g, int64_t r, int64_t t) {
    const qinfer_bf16 *w[NR];
    const qinfer_bf16 *x[NT];
    for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const qinfer_bf16 *>(g.w + size_t(r + i) * g.w_stride);
    for (int j = 0; j < NT; j++) x[j] = reinterpret_cast<const qinfer_bf16 *>(g.act + size_t(t + j) * g.act_stride);
    __m512 acc[NR][NT];
    for (int i = 0; i < NR; i++)
      for (int j = 0; j < NT; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t c = 0; c < g.cols; c += 32) {
      const int n = g.cols - c < 32 ? int(g.cols - c) : 32;
      __m512bh wv[NR];
      for (int i = 0; i < NR; i++) wv[i] = load_pairs(w[i] + c, n);
      for (int j = 0; j < NT; j++) {
        __m512bh xv = load_pairs(x[j] + c, n);
        for (int i = 0; i < NR; i++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv[i], xv);
      }
    }
    for (int j = 0; j < NT; j++)
      for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
};

}  // namespace

GemmKernel gemm_bf16_avx512bf16() { return GemmKernel{bf16_act_bytes, bf16_act, Tiler<Bf16Tile, 4, 4>::run}; }

}  // namespace qinfer::cpu
