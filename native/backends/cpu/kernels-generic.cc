// Scalar kernels: the fallback on any CPU, built on the formats' reference dot products.
#include <cmath>

#include "kernels.h"
#include "quant/reference.h"
#include "quant/w8a8.h"

namespace qinfer::cpu {
namespace {

void add_f32(const float *a, const float *b, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}

float dot_f32(const float *a, const float *b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += double(a[i]) * b[i];
  return float(acc);
}

float dot_f16(const qinfer_half *a, const float *b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += double(qinfer_half_to_f32(a[i])) * b[i];
  return float(acc);
}

void axpy_f32(float a, const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void axpy_f16(float a, const qinfer_half *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * qinfer_half_to_f32(x[i]);
}

void scale_f32(float a, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] *= a;
}

void f32_to_f16(const float *x, qinfer_half *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = qinfer_f32_to_half(x[i]);
}

void f16_to_f32(const qinfer_half *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = qinfer_half_to_f32(x[i]);
}

// Every format through its reference: activations in the format's vec_dot_type, one dot per pair.
template <int32_t Type>
const quant::QuantTraits &traits() {
  return *quant::quant_traits(Type);
}

template <int32_t Type>
size_t ref_act_bytes(int64_t cols) {
  const quant::QuantTraits &a = *quant::quant_traits(traits<Type>().vec_dot_type);
  return quant::row_bytes(a, cols);
}

template <int32_t Type>
void ref_quantize_act(const float *x, void *act, int64_t cols) {
  const quant::QuantTraits &a = *quant::quant_traits(traits<Type>().vec_dot_type);
  a.quantize(x, act, cols);
}

template <int32_t Type>
void ref_gemm(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  const quant::VecDotFn dot = traits<Type>().vec_dot;
  for (int64_t t = t0; t < t1; t++)
    for (int64_t r = r0; r < r1; r++) g.y[t * g.ldy + r] = dot(g.w + size_t(r) * g.w_stride, g.act + size_t(t) * g.act_stride, g.cols);
}

// Only formats the reference table computes get an entry.
template <int32_t Type>
void add_ref(Kernels &k) {
  const quant::QuantTraits *t = quant::quant_traits(Type);
  if (t && t->vec_dot) k.gemm[qinfer_type_slot(Type)] = GemmKernel{ref_act_bytes<Type>, ref_quantize_act<Type>, ref_gemm<Type>};
}

template <int32_t... Types>
void add_refs(Kernels &k) {
  (add_ref<Types>(k), ...);
}

size_t w8a8_act_bytes(int64_t cols) { return quant::w8a8_act_bytes(cols); }

void w8a8_gemm_ref(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; t++)
    for (int64_t r = r0; r < r1; r++)
      g.y[t * g.ldy + r] = quant::w8a8_vec_dot(reinterpret_cast<const int8_t *>(g.w + size_t(r) * g.w_stride), g.w_scale[r],
                                               g.act + size_t(t) * g.act_stride, g.cols);
}

void silu_mul_ref(const float *gate, const float *up, float *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
float max_ref(const float *x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}
double exp_sum_ref(float *x, float shift, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += double(x[i] = std::exp(x[i] - shift));
  return sum;
}
double sum_sq_ref(const float *x, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += double(x[i]) * x[i];
  return sum;
}
void scale_mul_ref(const float *x, float s, const float *w, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = w ? x[i] * s * w[i] : x[i] * s;
}

Kernels make_table() {
  Kernels k{};
  k.isa = Isa::GENERIC;
  add_refs<QINFER_TYPE_F32, QINFER_TYPE_F16, QINFER_TYPE_BF16, QINFER_TYPE_Q8_0, QINFER_TYPE_Q4_0, QINFER_TYPE_Q4_1,
           QINFER_TYPE_Q5_0, QINFER_TYPE_Q5_1, QINFER_TYPE_Q2_K, QINFER_TYPE_Q3_K, QINFER_TYPE_Q4_K, QINFER_TYPE_Q5_K,
           QINFER_TYPE_Q6_K, QINFER_TYPE_IQ4_NL, QINFER_TYPE_IQ4_XS, QINFER_TYPE_Q3_32, QINFER_TYPE_Q2_32>(k);
  k.w8a8 = GemmKernel{w8a8_act_bytes, quant::w8a8_quantize_act, w8a8_gemm_ref};
  k.w8a8_static_act = quant::w8a8_quantize_act_static;
  k.add_f32 = add_f32;
  k.dot_f32 = dot_f32;
  k.dot_f16 = dot_f16;
  k.axpy_f32 = axpy_f32;
  k.axpy_f16 = axpy_f16;
  k.scale_f32 = scale_f32;
  k.f32_to_f16 = f32_to_f16;
  k.f16_to_f32 = f16_to_f32;
  k.silu_mul_f32 = silu_mul_ref;
  k.max_f32 = max_ref;
  k.exp_sum_f32 = exp_sum_ref;
  k.sum_sq_f32 = sum_sq_ref;
  k.scale_mul_f32 = scale_mul_ref;
  return k;
}

}  // namespace

const Kernels &kernels_generic() {
  static const Kernels k = make_table();
  return k;
}

}  // namespace qinfer::cpu
