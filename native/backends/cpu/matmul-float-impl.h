// F32/F16/BF16 matrix products and float primitives over the VF vector type of the including ISA unit
// (simd-avx2.h or simd-avx512.h must come first); each unit instantiates its own internal copy.
#pragma once

#include <cstring>
#include <utility>

#include "kernels.h"
#include "quant-act-impl.h"
#include "tiler.h"

namespace qinfer::cpu {
namespace {

struct WeightF32 {
  using T = float;
  static VF load(const float *p) { return vload(p); }
  static VF load_n(const float *p, int n) { return vload_n(p, n); }
};
struct WeightF16 {
  using T = uint16_t;
  static VF load(const uint16_t *p) { return vload_f16(p); }
  static VF load_n(const uint16_t *p, int n) { return vload_f16_n(p, n); }
};
struct WeightBF16 {
  using T = uint16_t;
  static VF load(const uint16_t *p) { return vload_bf16(p); }
  static VF load_n(const uint16_t *p, int n) { return vload_bf16_n(p, n); }
};

// NR rows x NT tokens of F32 activations, all products kept in registers across the whole row.
template <typename W, int NR, int NT>
void float_tile(const GemmArgs &g, int64_t r, int64_t t) {
  const typename W::T *w[NR];
  const float *x[NT];
  for (int i = 0; i < NR; i++) w[i] = reinterpret_cast<const typename W::T *>(g.w + size_t(r + i) * g.w_stride);
  for (int j = 0; j < NT; j++) x[j] = reinterpret_cast<const float *>(g.act + size_t(t + j) * g.act_stride);
  VF acc[NR][NT];
  for (int i = 0; i < NR; i++)
    for (int j = 0; j < NT; j++) acc[i][j] = vzero();
  const size_t ahead = prefetch_distance(g.w_stride, NR);
  int64_t c = 0;
  for (; c + kVecF <= g.cols; c += kVecF) {
    VF wv[NR];
    for (int i = 0; i < NR; i++) {
      wv[i] = W::load(w[i] + c);
      prefetch_ahead(w[i] + c, sizeof(typename W::T) * kVecF, ahead);
    }
    for (int j = 0; j < NT; j++) {
      VF xv = vload(x[j] + c);
      for (int i = 0; i < NR; i++) acc[i][j] = vfma(wv[i], xv, acc[i][j]);
    }
  }
  if (c < g.cols) {
    int n = int(g.cols - c);
    VF wv[NR];
    for (int i = 0; i < NR; i++) wv[i] = W::load_n(w[i] + c, n);
    for (int j = 0; j < NT; j++) {
      VF xv = vload_n(x[j] + c, n);
      for (int i = 0; i < NR; i++) acc[i][j] = vfma(wv[i], xv, acc[i][j]);
    }
  }
  for (int j = 0; j < NT; j++)
    for (int i = 0; i < NR; i++) g.y[(t + j) * g.ldy + r + i] = vsum(acc[i][j]);
}

template <typename W>
struct FloatTile {
  template <int NR, int NT>
  struct Of {
    static void run(const GemmArgs &g, int64_t r, int64_t t) { float_tile<W, NR, NT>(g, r, t); }
  };
};

size_t f32_act_bytes(int64_t cols) { return size_t(cols) * 4; }
void f32_act(const float *x, void *act, int64_t cols) { std::memcpy(act, x, size_t(cols) * 4); }

template <typename W>
constexpr GemmKernel float_kernel() {
  return GemmKernel{f32_act_bytes, f32_act, Tiler<FloatTile<W>::template Of, kFloatRows, kFloatTokens>::run};
}

void add_f32(const float *a, const float *b, float *dst, int64_t n) {
  int64_t i = 0;
  for (; i + kVecF <= n; i += kVecF) vstore(dst + i, vadd(vload(a + i), vload(b + i)));
  if (i < n) vstore_n(dst + i, vadd(vload_n(a + i, int(n - i)), vload_n(b + i, int(n - i))), int(n - i));
}

template <typename W>
float dot_w(const typename W::T *a, const float *b, int64_t n) {
  VF acc0 = vzero(), acc1 = vzero();
  int64_t i = 0;
  for (; i + 2 * kVecF <= n; i += 2 * kVecF) {
    acc0 = vfma(W::load(a + i), vload(b + i), acc0);
    acc1 = vfma(W::load(a + i + kVecF), vload(b + i + kVecF), acc1);
  }
  for (; i < n; i += kVecF) {
    int m = n - i < kVecF ? int(n - i) : kVecF;
    acc0 = vfma(W::load_n(a + i, m), vload_n(b + i, m), acc0);
  }
  return vsum(vadd(acc0, acc1));
}
float dot_f32(const float *a, const float *b, int64_t n) { return dot_w<WeightF32>(a, b, n); }
float dot_f16(const qinfer_half *a, const float *b, int64_t n) { return dot_w<WeightF16>(a, b, n); }

template <typename W>
void axpy_w(float a, const typename W::T *x, float *y, int64_t n) {
  VF av = vset1(a);
  int64_t i = 0;
  for (; i + kVecF <= n; i += kVecF) vstore(y + i, vfma(av, W::load(x + i), vload(y + i)));
  if (i < n) {
    int m = int(n - i);
    vstore_n(y + i, vfma(av, W::load_n(x + i, m), vload_n(y + i, m)), m);
  }
}
void axpy_f32(float a, const float *x, float *y, int64_t n) { axpy_w<WeightF32>(a, x, y, n); }
void axpy_f16(float a, const qinfer_half *x, float *y, int64_t n) { axpy_w<WeightF16>(a, x, y, n); }

void scale_f32(float a, float *y, int64_t n) {
  VF av = vset1(a);
  int64_t i = 0;
  for (; i + kVecF <= n; i += kVecF) vstore(y + i, vmul(av, vload(y + i)));
  if (i < n) vstore_n(y + i, vmul(av, vload_n(y + i, int(n - i))), int(n - i));
}

void f16_to_f32(const qinfer_half *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + kVecF <= n; i += kVecF) vstore(y + i, vload_f16(x + i));
  if (i < n) vstore_n(y + i, vload_f16_n(x + i, int(n - i)), int(n - i));
}

void f32_to_f16(const float *x, qinfer_half *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = qinfer_f32_to_half(x[i]);
}

void fill_float_table(Kernels &k) {
  k.gemm[QINFER_TYPE_F32] = float_kernel<WeightF32>();
  k.gemm[QINFER_TYPE_F16] = float_kernel<WeightF16>();
  k.gemm[QINFER_TYPE_BF16] = float_kernel<WeightBF16>();
  k.add_f32 = add_f32;
  k.dot_f32 = dot_f32;
  k.dot_f16 = dot_f16;
  k.axpy_f32 = axpy_f32;
  k.axpy_f16 = axpy_f16;
  k.scale_f32 = scale_f32;
  k.f32_to_f16 = f32_to_f16;
  k.f16_to_f32 = f16_to_f32;
}

}  // namespace
}  // namespace qinfer::cpu
