// Scalar reference code of every format qinfer computes, reached through one table by ggml type id:
// the CPU backend's fallback, the quantizer's rounding and what every SIMD/GPU kernel is tested against.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer::quant {

// One row of n elements (n a multiple of the block size) into n / block_size blocks.
using QuantizeFn = void (*)(const float *x, void *dst, int64_t n);
// Same, minimising sum_i importance[i] * (x[i] - q[i])^2; importance has n non-negative entries
// (for weights: the mean squared activation of each input column, llama.cpp's imatrix).
using QuantizeWeightedFn = void (*)(const float *x, void *dst, int64_t n, const float *importance);
using DequantizeFn = void (*)(const void *src, float *dst, int64_t n);
// sum_i w[i] * a[i] over n elements: w in this format, a in the traits' vec_dot_type.
using VecDotFn = float (*)(const void *w, const void *a, int64_t n);

struct QuantTraits {
  int type;
  const char *name;  // ggml's name
  int block_size;
  int type_size;
  QuantizeFn quantize;  // round-to-nearest; for K-quants and IQ4 an unweighted error search
  QuantizeWeightedFn quantize_weighted;
  DequantizeFn dequantize;
  VecDotFn vec_dot;
  int vec_dot_type;  // format the activations are quantized to for vec_dot
};

// Traits of a type qinfer computes (F32, F16, BF16, the legacy, K and IQ4 formats and the activation
// formats Q8_1/Q8_K), or nullptr.
const QuantTraits *quant_traits(int type);

// Bytes of one row of n elements; n must be a multiple of the block size.
inline size_t row_bytes(const QuantTraits &t, int64_t n) { return size_t(n / t.block_size) * size_t(t.type_size); }

}  // namespace qinfer::quant
