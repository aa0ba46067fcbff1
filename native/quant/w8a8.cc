// Scalar reference of the W8A8 format: row scales, rounding, per-token activation quantization and the dot product.
#include "w8a8.h"

#include <algorithm>
#include <cmath>

namespace qinfer::quant {

float w8a8_scale(const float *x, int64_t n) {
  float amax = 0;
  for (int64_t i = 0; i < n; i++) amax = std::max(amax, std::fabs(x[i]));
  return amax / float(kW8a8Max);
}

void w8a8_round(const float *x, float scale, int8_t *q, int64_t n) {
  const float inv = scale > 0 ? 1.0f / scale : 0.0f;
  for (int64_t i = 0; i < n; i++) {
    const float v = std::nearbyint(x[i] * inv);
    q[i] = int8_t(std::min(float(kW8a8Max), std::max(-float(kW8a8Max), v)));
  }
}

void w8a8_quantize_act(const float *x, void *act, int64_t cols) {
  auto *h = static_cast<W8a8ActHeader *>(act);
  auto *q = reinterpret_cast<int8_t *>(h + 1);
  h->scale = w8a8_scale(x, cols);
  h->pad[0] = h->pad[1] = h->pad[2] = 0;
  w8a8_round(x, h->scale, q, cols);
}

void w8a8_quantize_act_static(const float *x, float scale, void *act, int64_t cols) {
  auto *h = static_cast<W8a8ActHeader *>(act);
  h->scale = scale;
  h->pad[0] = h->pad[1] = h->pad[2] = 0;
  w8a8_round(x, scale, reinterpret_cast<int8_t *>(h + 1), cols);
}

float w8a8_vec_dot(const int8_t *w, float w_scale, const void *act, int64_t cols) {
  const auto *h = static_cast<const W8a8ActHeader *>(act);
  const int8_t *a = w8a8_act_values(act);
  int64_t acc = 0;
  for (int64_t i = 0; i < cols; i++) acc += int32_t(w[i]) * a[i];
  return float(acc) * w_scale * h->scale;
}

}  // namespace qinfer::quant
