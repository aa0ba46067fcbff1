// W8A8 (qinfer's type QINFER_TYPE_W8A8): int8 weights with one scale per output row, int8 activations with one
// scale per token; the scalar reference the CPU kernels are tested against and the quantizer's rounding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qinfer::quant {

// Symmetric int8 over [-127, 127]: -128 stays unused so that |q| fits the 8-bit sign tricks of the kernels.
constexpr int kW8a8Max = 127;

// The scale of a row: max |x| / 127 (0 for an all-zero row).
float w8a8_scale(const float *x, int64_t n);
// q[i] = round(x[i] / scale) clamped to [-127, 127] (all zero when scale is 0).
void w8a8_round(const float *x, float scale, int8_t *q, int64_t n);

// One token's activations as the kernels read them: the header, then cols int8 values.
struct W8a8ActHeader {
  float scale;
  float pad[3];  // keeps the values 16-byte aligned
};
inline size_t w8a8_act_bytes(int64_t cols) { return sizeof(W8a8ActHeader) + size_t(cols); }
// Per-token dynamic quantization into the layout above.
void w8a8_quantize_act(const float *x, void *act, int64_t cols);
// W8A8 static: the same layout with a scale fixed by calibration; values beyond 127 steps clamp.
void w8a8_quantize_act_static(const float *x, float scale, void *act, int64_t cols);
inline const int8_t *w8a8_act_values(const void *act) {
  return reinterpret_cast<const int8_t *>(static_cast<const uint8_t *>(act) + sizeof(W8a8ActHeader));
}

// Reference dot product of one weight row (int8, scale w_scale) with one prepared token.
float w8a8_vec_dot(const int8_t *w, float w_scale, const void *act, int64_t cols);

}  // namespace qinfer::quant
