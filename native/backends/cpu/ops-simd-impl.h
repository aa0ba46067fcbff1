// exp and the row primitives of RMSNorm, softmax and SwiGLU over the VF vector type of the including
// ISA unit (after its simd-*.h); the generic table has their scalar versions.
#pragma once

#include <cmath>

#include "kernels.h"

namespace qinfer::cpu {
namespace {

// e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln(2) / 2, e^r by its degree-7 Taylor polynomial
// (truncation below 1e-8 relative). Below -87 (under the smallest normal float) the result is 0.
inline VF vexp(VF x) {
  const VF xc = vmin(vmax(x, vset1(-87.0f)), vset1(88.0f));
  const VF n = vround(vmul(xc, vset1(1.44269504088896341f)));
  VF r = vfma(n, vset1(-0.693145751953125f), xc);  // ln 2 in two parts: the first is exact in float
  r = vfma(n, vset1(-1.42860682030941723212e-6f), r);
  VF p = vset1(1.0f / 5040.0f);
  for (float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) p = vfma(p, r, vset1(c));
  return vzero_below(vmul(p, vpow2i(n)), x, -87.0f);
}

// Sums of up to this many floats run in float lanes before joining a double total.
constexpr int64_t kChunk = 256;

void silu_mul_simd(const float *gate, const float *up, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + kVecF <= n; i += kVecF) {
    const VF g = vload(gate + i);
    vstore(out + i, vdiv(vmul(g, vload(up + i)), vadd(vset1(1.0f), vexp(vmul(g, vset1(-1.0f))))));
  }
  for (; i < n; i++) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

float max_simd(const float *x, int64_t n) {
  int64_t i = 0;
  float m = -INFINITY;
  if (n >= kVecF) {
    VF v = vload(x);
    for (i = kVecF; i + kVecF <= n; i += kVecF) v = vmax(v, vload(x + i));
    m = vmax_all(v);
  }
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

double exp_sum_simd(float *x, float shift, int64_t n) {
  double sum = 0;
  int64_t i = 0;
  while (i + kVecF <= n) {
    VF acc = vzero();
    for (int64_t end = i + kChunk < n ? i + kChunk : n; i + kVecF <= end; i += kVecF) {
      const VF e = vexp(vadd(vload(x + i), vset1(-shift)));
      vstore(x + i, e);
      acc = vadd(acc, e);
    }
    sum += double(vsum(acc));
  }
  for (; i < n; i++) sum += double(x[i] = std::exp(x[i] - shift));
  return sum;
}

double sum_sq_simd(const float *x, int64_t n) {
  double sum = 0;
  int64_t i = 0;
  while (i + kVecF <= n) {
    VF acc = vzero();
    for (int64_t end = i + kChunk < n ? i + kChunk : n; i + kVecF <= end; i += kVecF) acc = vfma(vload(x + i), vload(x + i), acc);
    sum += double(vsum(acc));
  }
  for (; i < n; i++) sum += double(x[i]) * x[i];
  return sum;
}

void scale_mul_simd(const float *x, float s, const float *w, float *y, int64_t n) {
  const VF sv = vset1(s);
  int64_t i = 0;
  for (; i + kVecF <= n; i += kVecF) vstore(y + i, w ? vmul(vmul(vload(x + i), sv), vload(w + i)) : vmul(vload(x + i), sv));
  for (; i < n; i++) y[i] = w ? x[i] * s * w[i] : x[i] * s;
}

void fill_ops_simd(Kernels &k) {
  k.silu_mul_f32 = silu_mul_simd;
  k.max_f32 = max_simd;
  k.exp_sum_f32 = exp_sum_simd;
  k.sum_sq_f32 = sum_sq_simd;
  k.scale_mul_f32 = scale_mul_simd;
}

}  // namespace
}  // namespace qinfer::cpu
