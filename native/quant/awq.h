// AWQ: activation-aware per-input-channel scales, searched on calibration activations and folded into the
// operation that produces the input (RMSNorm weight, or the rows of ffn_up / attn_v).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/llama-ops.h"
#include "reference.h"

namespace qinfer::quant {

// One weight reading the input: rows x cols floats and the format it will be stored in.
struct AwqWeight {
  const float *w;
  int64_t rows;
  const QuantTraits *type;
};

struct AwqSearch {
  int32_t grid = 20;  // alphas 0, 1/grid, ..., 1
  // Quantizes rows x cols (scaled) weights into the given format and back.
  std::function<void(const QuantTraits &, const float *w, int64_t rows, int64_t cols, float *out)> round_trip;
};

// Scales s_j = mean|x_j|^alpha / sqrt(max·min) for the alpha that minimises Σ ||X Wᵀ − X (Q(W·diag(s))·diag(1/s))ᵀ||²
// over the weights, X being `n_samples` rows of calibration activations. Columns with equal mean_abs get equal
// scales (callers average mean_abs over columns that must share a scale, e.g. heads sharing a KV head).
std::vector<float> awq_search(ModelOps &ops, const std::vector<AwqWeight> &weights, int64_t cols, const float *samples,
                              int64_t n_samples, const std::vector<float> &mean_abs, const AwqSearch &search, float *best_alpha);

}  // namespace qinfer::quant
