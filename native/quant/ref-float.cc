// Reference conversions and dot products of the unquantized formats F32, F16 and BF16 (importance has
// nothing to choose for them, so the weighted variants convert alike).
#include <cstring>

#include "formats.h"
#include "qinfer/blocks.h"

namespace qinfer::quant {

void quantize_f32(const float *x, void *dst, int64_t n) { std::memcpy(dst, x, size_t(n) * sizeof(float)); }
void quantize_f32_weighted(const float *x, void *dst, int64_t n, const float *) { quantize_f32(x, dst, n); }
void dequantize_f32(const void *src, float *dst, int64_t n) { std::memcpy(dst, src, size_t(n) * sizeof(float)); }

void quantize_f16(const float *x, void *dst, int64_t n) {
  auto *y = static_cast<qinfer_half *>(dst);
  for (int64_t i = 0; i < n; i++) y[i] = qinfer_f32_to_half(x[i]);
}
void quantize_f16_weighted(const float *x, void *dst, int64_t n, const float *) { quantize_f16(x, dst, n); }
void dequantize_f16(const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const qinfer_half *>(src);
  for (int64_t i = 0; i < n; i++) dst[i] = qinfer_half_to_f32(y[i]);
}

void quantize_bf16(const float *x, void *dst, int64_t n) {
  auto *y = static_cast<qinfer_bf16 *>(dst);
  for (int64_t i = 0; i < n; i++) y[i] = qinfer_f32_to_bf16(x[i]);
}
void quantize_bf16_weighted(const float *x, void *dst, int64_t n, const float *) { quantize_bf16(x, dst, n); }
void dequantize_bf16(const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const qinfer_bf16 *>(src);
  for (int64_t i = 0; i < n; i++) dst[i] = qinfer_bf16_to_f32(y[i]);
}

// Accumulated in double: the reference the SIMD float accumulations are measured against.
float vec_dot_f32(const void *w, const void *a, int64_t n) {
  const auto *x = static_cast<const float *>(w);
  const auto *y = static_cast<const float *>(a);
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += double(x[i]) * y[i];
  return float(s);
}

float vec_dot_f16(const void *w, const void *a, int64_t n) {
  const auto *x = static_cast<const qinfer_half *>(w);
  const auto *y = static_cast<const qinfer_half *>(a);
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += double(qinfer_half_to_f32(x[i])) * qinfer_half_to_f32(y[i]);
  return float(s);
}

float vec_dot_bf16(const void *w, const void *a, int64_t n) {
  const auto *x = static_cast<const qinfer_bf16 *>(w);
  const auto *y = static_cast<const qinfer_bf16 *>(a);
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += double(qinfer_bf16_to_f32(x[i])) * qinfer_bf16_to_f32(y[i]);
  return float(s);
}

}  // namespace qinfer::quant
