// Entry points of qinfer's own 3- and 2-bit block formats (Q3_32, Q2_32) behind quant_traits.
#pragma once

#include <cstdint>

namespace qinfer::quant {

// Round-to-nearest is the unweighted error search (as for the K-quants): the best scale for the block's
// odd grid under uniform weights.
void quantize_q3_32(const float *x, void *dst, int64_t n);
void quantize_q3_32_weighted(const float *x, void *dst, int64_t n, const float *imp);
void dequantize_q3_32(const void *src, float *dst, int64_t n);
float vec_dot_q3_32(const void *w, const void *a, int64_t n);  // activations Q8_0

void quantize_q2_32(const float *x, void *dst, int64_t n);
void quantize_q2_32_weighted(const float *x, void *dst, int64_t n, const float *imp);
void dequantize_q2_32(const void *src, float *dst, int64_t n);
float vec_dot_q2_32(const void *w, const void *a, int64_t n);  // activations Q8_0

}  // namespace qinfer::quant
