// Row-wise operators of the forward pass: embedding lookup, RMSNorm, RoPE, softmax, SwiGLU, argmax and top-k.
// Sums (sum_sq_f32, exp_sum_f32) end in double so results do not depend on the row length's rounding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "matmul.h"
#include "ops.h"
#include "quant/reference.h"

namespace qinfer::cpu {

void get_rows(int32_t type, const void *table, int64_t rows, int64_t cols, const int32_t *ids, int64_t n_ids, float *out) {
  const quant::QuantTraits *t = quant::quant_traits(type);
  if (!t || !t->dequantize) throw Error(QINFER_E_UNSUPPORTED, "embedding lookup: type " + std::to_string(type) + " cannot be dequantized");
  const uint64_t row_bytes = type_row_bytes(type, cols);
  for (int64_t i = 0; i < n_ids; i++) {
    if (ids[i] < 0 || ids[i] >= rows)
      throw Error(QINFER_E_INVALID_ARGUMENT, "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " +
                                                 std::to_string(rows) + " rows");
    t->dequantize(static_cast<const uint8_t *>(table) + uint64_t(ids[i]) * row_bytes, out + i * cols, cols);
  }
}

void rms_norm(const Kernels &k, const float *x, const float *weight, float *y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; r++) {
    const float s = 1.0f / std::sqrt(float(k.sum_sq_f32(x + r * n, n) / double(n)) + eps);
    k.scale_mul_f32(x + r * n, s, weight, y + r * n, n);
  }
}

void rope(float *x, int64_t n_tokens, int64_t n_heads, const int32_t *positions, const RopeParams &p) {
  if (p.n_dims <= 0 || p.n_dims > p.head_dim || p.n_dims % 2)
    throw Error(QINFER_E_INVALID_ARGUMENT, "rope: rotated dimensions must be even and at most the head size");
  const int64_t half = p.n_dims / 2;
  // Frequencies as successive powers in float, the way ggml builds them, so angles match llama.cpp's.
  const float theta_scale = std::pow(p.freq_base, -2.0f / float(p.n_dims));
  std::vector<float> cs(size_t(2 * half));
  for (int64_t t = 0; t < n_tokens; t++) {
    float theta = float(positions[t]);
    for (int64_t i = 0; i < half; i++) {
      float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
      const float extrap = theta / ff;
      float angle = p.freq_scale * extrap;
      if (p.ext_factor != 0.0f) {
        const float ramp = (1.0f - std::min(1.0f, std::max(0.0f, (float(i) - p.corr_low) / std::max(0.001f, p.corr_high - p.corr_low)))) * p.ext_factor;
        angle = angle * (1.0f - ramp) + extrap * ramp;
      }
      cs[size_t(2 * i)] = std::cos(angle) * p.attn_factor;
      cs[size_t(2 * i + 1)] = std::sin(angle) * p.attn_factor;
      theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_heads; h++) {
      float *v = x + (t * n_heads + h) * p.head_dim;
      for (int64_t i = 0; i < half; i++) {
        const int64_t a = p.neox ? i : 2 * i, b = p.neox ? i + half : 2 * i + 1;
        const float c = cs[size_t(2 * i)], s = cs[size_t(2 * i + 1)];
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

void softmax(const Kernels &k, float *x, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; r++) {
    float *v = x + r * n;
    const double sum = k.exp_sum_f32(v, k.max_f32(v, n), n);
    k.scale_f32(float(1.0 / sum), v, n);
  }
}

void silu_mul(const Kernels &k, const float *gate, const float *up, float *out, int64_t n) { k.silu_mul_f32(gate, up, out, n); }

int64_t argmax(const float *x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

void top_k(const float *x, int64_t n, int64_t k, int32_t *ids, float *values) {
  if (k < 0 || k > n) throw Error(QINFER_E_INVALID_ARGUMENT, "top_k: k must be between 0 and the number of elements");
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  auto before = [x](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), before);
  for (int64_t i = 0; i < k; i++) {
    ids[i] = idx[size_t(i)];
    values[i] = x[idx[size_t(i)]];
  }
}

}  // namespace qinfer::cpu
