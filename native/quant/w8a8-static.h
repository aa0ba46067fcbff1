// W8A8 static: the calibration that fixes one int8 scale per linear input (shared by the matrices reading it) and,
// optionally, SmoothQuant's per-channel scales that move activation outliers into the weights.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "act-calibrators.h"
#include "core/llama-forward.h"
#include "core/llama-model.h"

namespace qinfer::quant {

struct W8a8StaticOptions {
  ActCalibration calibration;
  bool smooth = false;
  float smooth_alpha = 0.5f;  // SmoothQuant's migration strength, in [0, 1]
  int32_t context = 512;
  int32_t threads = 0;
};

struct W8a8StaticPlan {
  // Indexed layer * 4 + input, then the output projection's input last (as CalibrationStats).
  std::vector<float> act_scale;  // clip / 127, the scale the file stores for the input
  std::vector<float> amax;       // the largest |x| seen (after smoothing), for reports
  // SmoothQuant scales s_j per layer input (index layer * 4 + input, empty when not smoothed): the input is divided by
  // them and the weights' columns multiplied, so the product is unchanged in full precision.
  std::vector<std::vector<float>> smooth;

  float scale_of(int32_t layer, LinearInput in) const {
    return in == LinearInput::kOutputIn ? act_scale.back() : act_scale[size_t(layer) * 4 + size_t(in)];
  }
};

// Per input channel, the largest |w| over every matrix that reads the layer input (e.g. attn_q, attn_k and attn_v).
using WeightColumnMax = std::function<std::vector<float>(int32_t layer, LinearInput in)>;

// SmoothQuant's s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), 1 where either is 0, clamped to [1e-5, 1e5].
std::vector<float> smooth_scales(const std::vector<float> &x_max, const std::vector<float> &w_max, float alpha);

// Two passes of the full-precision model over the calibration tokens: per-channel maxima (SmoothQuant, and the
// histogram range), then a histogram of each (smoothed) input for the calibrator; one pass for minmax without
// smoothing. Attention-output scales are shared by the heads that read the same KV head (they fold into attn_v).
W8a8StaticPlan plan_w8a8_static(const LlamaModel &model, const std::vector<int32_t> &tokens, const W8a8StaticOptions &options,
                                const WeightColumnMax &weight_max, const std::atomic<bool> *abort,
                                const std::function<void(int64_t, int64_t)> &progress);

}  // namespace qinfer::quant
