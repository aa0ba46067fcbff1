// Per-format entry points behind quant_traits (internal to native/quant; everything else uses the table).
#pragma once

#include <cstdint>

namespace qinfer::quant {

#define QINFER_DECLARE_FORMAT(fmt)                                                      \
  void quantize_##fmt(const float *x, void *dst, int64_t n);                           \
  void quantize_##fmt##_weighted(const float *x, void *dst, int64_t n, const float *imp); \
  void dequantize_##fmt(const void *src, float *dst, int64_t n);

QINFER_DECLARE_FORMAT(f32)
QINFER_DECLARE_FORMAT(f16)
QINFER_DECLARE_FORMAT(bf16)
QINFER_DECLARE_FORMAT(q4_0)
QINFER_DECLARE_FORMAT(q4_1)
QINFER_DECLARE_FORMAT(q5_0)
QINFER_DECLARE_FORMAT(q5_1)
QINFER_DECLARE_FORMAT(q8_0)
QINFER_DECLARE_FORMAT(q2_k)
QINFER_DECLARE_FORMAT(q3_k)
QINFER_DECLARE_FORMAT(q4_k)
QINFER_DECLARE_FORMAT(q5_k)
QINFER_DECLARE_FORMAT(q6_k)
QINFER_DECLARE_FORMAT(iq4_nl)
QINFER_DECLARE_FORMAT(iq4_xs)

#undef QINFER_DECLARE_FORMAT

// Activation formats: quantized on the fly, never weights, so no weighted variant.
void quantize_q8_1(const float *x, void *dst, int64_t n);
void dequantize_q8_1(const void *src, float *dst, int64_t n);
void quantize_q8_k(const float *x, void *dst, int64_t n);
void dequantize_q8_k(const void *src, float *dst, int64_t n);

float vec_dot_f32(const void *w, const void *a, int64_t n);
float vec_dot_f16(const void *w, const void *a, int64_t n);
float vec_dot_bf16(const void *w, const void *a, int64_t n);
float vec_dot_q4_0(const void *w, const void *a, int64_t n);  // activations Q8_0
float vec_dot_q4_1(const void *w, const void *a, int64_t n);  // Q8_1
float vec_dot_q5_0(const void *w, const void *a, int64_t n);  // Q8_0
float vec_dot_q5_1(const void *w, const void *a, int64_t n);  // Q8_1
float vec_dot_q8_0(const void *w, const void *a, int64_t n);  // Q8_0
float vec_dot_q2_k(const void *w, const void *a, int64_t n);  // Q8_K
float vec_dot_q3_k(const void *w, const void *a, int64_t n);  // Q8_K
float vec_dot_q4_k(const void *w, const void *a, int64_t n);  // Q8_K
float vec_dot_q5_k(const void *w, const void *a, int64_t n);  // Q8_K
float vec_dot_q6_k(const void *w, const void *a, int64_t n);  // Q8_K
float vec_dot_iq4_nl(const void *w, const void *a, int64_t n);  // Q8_0
float vec_dot_iq4_xs(const void *w, const void *a, int64_t n);  // Q8_K

// Importance as given, or all ones when the caller has none (thread-local scratch of n entries).
const float *importance_or_ones(const float *imp, int64_t n);

}  // namespace qinfer::quant
