// W8A8 static calibration: per-channel input maxima, SmoothQuant scales from them and the weights, then one histogram
// per linear input of the smoothed activations, turned into a clipping threshold by the chosen calibrator.
#include "w8a8-static.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "calibration.h"
#include "core/cpu-model-ops.h"
#include "w8a8.h"

namespace qinfer::quant {

std::vector<float> smooth_scales(const std::vector<float> &x_max, const std::vector<float> &w_max, float alpha) {
  std::vector<float> s(x_max.size(), 1.0f);
  for (size_t j = 0; j < s.size(); j++) {
    if (x_max[j] <= 0 || w_max[j] <= 0) continue;
    const double v = std::pow(double(x_max[j]), double(alpha)) / std::pow(double(w_max[j]), 1.0 - double(alpha));
    s[j] = float(std::clamp(v, 1e-5, 1e5));
  }
  return s;
}

namespace {

// attn_output's columns fold their scales into attn_v's rows, which every head of a KV group reads: one value per
// group position (the group's maximum).
void share_over_kv_groups(std::vector<float> &v, const LlamaHparams &hp) {
  const int64_t group = hp.n_head / hp.n_head_kv, hd = hp.head_dim;
  for (int64_t kvh = 0; kvh < hp.n_head_kv; kvh++)
    for (int64_t d = 0; d < hd; d++) {
      float m = 0;
      for (int64_t g = 0; g < group; g++) m = std::max(m, v[size_t((kvh * group + g) * hd + d)]);
      for (int64_t g = 0; g < group; g++) v[size_t((kvh * group + g) * hd + d)] = m;
    }
}

}  // namespace

W8a8StaticPlan plan_w8a8_static(const LlamaModel &model, const std::vector<int32_t> &tokens, const W8a8StaticOptions &opt,
                                const WeightColumnMax &weight_max, const std::atomic<bool> *abort,
                                const std::function<void(int64_t, int64_t)> &progress) {
  const LlamaHparams &hp = model.hparams();
  const size_t n_inputs = size_t(hp.n_layer) * 4 + 1;
  auto index = [&](int32_t layer, LinearInput in) { return in == LinearInput::kOutputIn ? n_inputs - 1 : size_t(layer) * 4 + size_t(in); };
  const bool histogram = opt.calibration.calibrator != ActCalibrator::kMinMax;
  const int64_t passes = histogram ? 2 : 1;
  std::unique_ptr<ModelOps> ops = make_cpu_model_ops(opt.threads);
  auto pass_progress = [&](int64_t pass) {
    return [&, pass](int64_t done, int64_t total) {
      if (progress) progress(pass * total + done, passes * total);
    };
  };

  std::vector<std::vector<float>> ch_max(n_inputs);
  observe_calibration(model, *ops, tokens, opt.context, abort, pass_progress(0),
                      [&](int32_t layer, LinearInput in, const float *x, int64_t n, int64_t cols) {
                        std::vector<float> &m = ch_max[index(layer, in)];
                        m.resize(size_t(cols), 0.0f);
                        for (int64_t t = 0; t < n; t++)
                          for (int64_t j = 0; j < cols; j++) m[size_t(j)] = std::max(m[size_t(j)], std::fabs(x[t * cols + j]));
                      });

  W8a8StaticPlan plan;
  plan.smooth.assign(n_inputs - 1, {});
  // The histograms see x_j / s_j, so their range is the largest smoothed value, known exactly from the first pass.
  std::vector<std::vector<float>> inv(n_inputs);
  std::vector<double> range(n_inputs, 0.0);
  for (size_t i = 0; i < n_inputs; i++) {
    if (opt.smooth && i + 1 < n_inputs) {
      const int32_t layer = int32_t(i / 4);
      const LinearInput in = LinearInput(i % 4);
      std::vector<float> xm = ch_max[i], wm = weight_max(layer, in);
      if (in == LinearInput::kAttnOut) {
        share_over_kv_groups(xm, hp);
        share_over_kv_groups(wm, hp);
      }
      plan.smooth[i] = smooth_scales(xm, wm, opt.smooth_alpha);
      inv[i].resize(plan.smooth[i].size());
      for (size_t j = 0; j < inv[i].size(); j++) inv[i][j] = 1.0f / plan.smooth[i][j];
    }
    for (size_t j = 0; j < ch_max[i].size(); j++)
      range[i] = std::max(range[i], double(inv[i].empty() ? ch_max[i][j] : ch_max[i][j] * inv[i][j]));
  }

  std::vector<AbsHistogram> hist;
  for (size_t i = 0; i < n_inputs; i++) hist.emplace_back(range[i], histogram ? AbsHistogram::kBins : 1);
  if (histogram)
    observe_calibration(model, *ops, tokens, opt.context, abort, pass_progress(1),
                        [&](int32_t layer, LinearInput in, const float *x, int64_t n, int64_t cols) {
                          const size_t i = index(layer, in);
                          hist[i].add(x, n * cols, inv[i].empty() ? nullptr : inv[i].data(), cols);
                        });

  for (size_t i = 0; i < n_inputs; i++) {
    const double clip = histogram ? calibrate_clip(hist[i], opt.calibration) : range[i];
    // An input that was always zero quantizes exactly with any scale.
    plan.act_scale.push_back(float((clip > 0 ? clip : 1.0) / kW8a8Max));
    plan.amax.push_back(float(range[i]));
  }
  return plan;
}

}  // namespace qinfer::quant
