// AWQ scale search: a grid over alpha, each candidate scored by the output error of the quantized weights on
// calibration activation samples (the products run on the CPU backend's F32 matmul).
#include "awq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "qinfer/ggml-types.h"

namespace qinfer::quant {
namespace {

Weight f32_weight(const float *w, int64_t rows, int64_t cols) {
  Weight m;
  m.data = reinterpret_cast<const uint8_t *>(w);
  m.type = QINFER_TYPE_F32;
  m.rows = rows;
  m.cols = cols;
  m.row_bytes = size_t(cols) * 4;
  return m;
}

}  // namespace

std::vector<float> awq_search(ModelOps &ops, const std::vector<AwqWeight> &weights, int64_t cols, const float *samples,
                              int64_t n_samples, const std::vector<float> &mean_abs, const AwqSearch &search, float *best_alpha) {
  std::vector<float> best(size_t(cols), 1.0f), s(static_cast<size_t>(cols)), scaled, back, y, yq;
  double best_err = std::numeric_limits<double>::infinity();
  *best_alpha = 0;
  if (n_samples == 0) return best;
  // Reference outputs of the unquantized weights.
  std::vector<std::vector<float>> ref(weights.size());
  for (size_t k = 0; k < weights.size(); k++) {
    ref[k].resize(static_cast<size_t>(n_samples * weights[k].rows));
    ops.matmul(f32_weight(weights[k].w, weights[k].rows, cols), samples, n_samples, ref[k].data());
  }
  float lo = std::numeric_limits<float>::infinity(), hi = 0;
  for (float m : mean_abs)
    if (m > 0) lo = std::min(lo, m), hi = std::max(hi, m);
  if (hi == 0) return best;
  for (int32_t g = 0; g <= search.grid; g++) {
    const float alpha = float(g) / float(search.grid);
    // Normalised so the scales straddle 1 (the paper's max·min normalisation keeps weights in range).
    const float norm = std::sqrt(std::pow(hi, alpha) * std::pow(lo, alpha));
    for (int64_t j = 0; j < cols; j++) {
      const float m = mean_abs[size_t(j)] > 0 ? mean_abs[size_t(j)] : lo;
      s[size_t(j)] = std::max(std::pow(m, alpha) / norm, 1e-4f);
    }
    double err = 0;
    for (size_t k = 0; k < weights.size(); k++) {
      const AwqWeight &aw = weights[k];
      const size_t n = size_t(aw.rows * cols);
      scaled.resize(n);
      back.resize(n);
      for (int64_t r = 0; r < aw.rows; r++)
        for (int64_t j = 0; j < cols; j++) scaled[size_t(r * cols + j)] = aw.w[r * cols + j] * s[size_t(j)];
      search.round_trip(*aw.type, scaled.data(), aw.rows, cols, back.data());
      for (int64_t r = 0; r < aw.rows; r++)
        for (int64_t j = 0; j < cols; j++) back[size_t(r * cols + j)] /= s[size_t(j)];
      yq.resize(static_cast<size_t>(n_samples * aw.rows));
      ops.matmul(f32_weight(back.data(), aw.rows, cols), samples, n_samples, yq.data());
      for (size_t i = 0; i < yq.size(); i++) {
        const double d = double(yq[i]) - ref[k][i];
        err += d * d;
      }
    }
    if (err < best_err) {
      best_err = err;
      best = s;
      *best_alpha = alpha;
    }
  }
  return best;
}

}  // namespace qinfer::quant
