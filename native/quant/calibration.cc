// Calibration pass: the full-precision forward over token windows with an observer that folds every linear
// input into its statistics (the XᵀX products run on the CPU backend's F32 matmul).
#include "calibration.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "core/cpu-model-ops.h"
#include "core/error.h"
#include "core/kv-cache.h"
#include "qinfer/ggml-types.h"

namespace qinfer::quant {

std::vector<float> InputStats::importance() const {
  std::vector<float> out(size_t(cols), 0.0f);
  for (int64_t j = 0; count && j < cols; j++) out[size_t(j)] = float(sum_sq[size_t(j)] / double(count));
  return out;
}

std::vector<float> InputStats::mean_abs() const {
  std::vector<float> out(size_t(cols), 0.0f);
  for (int64_t j = 0; count && j < cols; j++) out[size_t(j)] = float(sum_abs[size_t(j)] / double(count));
  return out;
}

namespace {

class Collector {
 public:
  Collector(CalibrationStats &stats, ModelOps &ops, const CalibrationOptions &opt, int64_t total_tokens)
      : stats_(stats), ops_(ops), opt_(opt) {
    // Evenly spaced sample rows over the whole pass.
    sample_stride_ = opt.samples > 0 ? std::max<int64_t>(1, total_tokens / opt.samples) : 0;
  }

  void observe(int32_t layer, LinearInput which, const float *x, int64_t n, int64_t cols) {
    InputStats &s = stats_.at(layer, which);
    for (int64_t t = 0; t < n; t++) {
      const float *row = x + t * cols;
      for (int64_t j = 0; j < cols; j++) {
        s.sum_sq[size_t(j)] += double(row[j]) * row[j];
        s.sum_abs[size_t(j)] += std::fabs(row[j]);
      }
      if (sample_stride_ && s.sample_rows < opt_.samples && (s.count + t) % sample_stride_ == 0) {
        std::copy(row, row + cols, s.samples.begin() + s.sample_rows * cols);
        s.sample_rows++;
      }
    }
    if (opt_.hessian) accumulate_hessian(s, x, n, cols);
    s.count += n;
  }

 private:
  // XᵀX as the F32 matmul of Xᵀ (cols rows of n tokens) with itself, added into the double accumulator.
  void accumulate_hessian(InputStats &s, const float *x, int64_t n, int64_t cols) {
    xt_.resize(static_cast<size_t>(cols * n));
    for (int64_t t = 0; t < n; t++)
      for (int64_t j = 0; j < cols; j++) xt_[size_t(j * n + t)] = x[t * cols + j];
    prod_.resize(static_cast<size_t>(cols * cols));
    Weight w;
    w.data = reinterpret_cast<const uint8_t *>(xt_.data());
    w.type = QINFER_TYPE_F32;
    w.cols = n;
    w.rows = cols;
    w.row_bytes = size_t(n) * 4;
    ops_.matmul(w, xt_.data(), cols, prod_.data());
    for (size_t k = 0; k < prod_.size(); k++) s.hessian[k] += prod_[k];
  }

  CalibrationStats &stats_;
  ModelOps &ops_;
  const CalibrationOptions &opt_;
  int64_t sample_stride_;
  std::vector<float> xt_, prod_;
};

InputStats make_input(int64_t cols, const CalibrationOptions &opt) {
  InputStats s;
  s.cols = cols;
  s.sum_sq.assign(size_t(cols), 0.0);
  s.sum_abs.assign(size_t(cols), 0.0);
  if (opt.hessian) s.hessian.assign(size_t(cols * cols), 0.0);
  if (opt.samples > 0) s.samples.assign(size_t(opt.samples) * size_t(cols), 0.0f);
  return s;
}

}  // namespace

void observe_calibration(const LlamaModel &model, ModelOps &ops, const std::vector<int32_t> &tokens, int32_t context,
                         const std::atomic<bool> *abort, const std::function<void(int64_t, int64_t)> &progress,
                         const LinearObserver &observer) {
  const LlamaHparams &hp = model.hparams();
  if (context < 2) throw Error(QINFER_E_INVALID_ARGUMENT, "calibration windows need at least 2 tokens");
  if (int64_t(tokens.size()) < context)
    throw Error(QINFER_E_INVALID_ARGUMENT, "calibration needs at least one window of " + std::to_string(context) +
                                               " tokens, got " + std::to_string(tokens.size()));
  for (int32_t t : tokens)
    if (t < 0 || t >= hp.n_vocab)
      throw Error(QINFER_E_INVALID_ARGUMENT, "calibration token id " + std::to_string(t) + " is outside the vocabulary");
  const int64_t windows = int64_t(tokens.size()) / context, total = windows * context;
  KvCache cache(hp, context, 1, QINFER_TYPE_F32);
  LlamaForward forward(model, ops, cache, context);
  forward.set_observer(observer);
  std::vector<BatchToken> batch(static_cast<size_t>(context));
  std::vector<float> logits(static_cast<size_t>(hp.n_vocab));
  for (int64_t w = 0; w < windows; w++) {
    for (int32_t p = 0; p < context; p++) {
      batch[size_t(p)].token = tokens[size_t(w * context + p)];
      batch[size_t(p)].pos = p;
      batch[size_t(p)].seq = 0;
      batch[size_t(p)].logits = p == context - 1;
    }
    if (!forward.eval(batch, logits.data(), abort)) throw Error(QINFER_E_ABORTED, "calibration was aborted");
    if (progress) progress((w + 1) * context, total);
  }
}

CalibrationStats calibrate(const LlamaModel &model, const std::vector<int32_t> &tokens, const CalibrationOptions &opt,
                           const std::atomic<bool> *abort, const std::function<void(int64_t, int64_t)> &progress) {
  const LlamaHparams &hp = model.hparams();
  CalibrationStats stats;
  stats.n_layer = hp.n_layer;
  const int64_t n_q = int64_t(hp.n_head) * hp.head_dim;
  for (int32_t il = 0; il < hp.n_layer; il++) {
    stats.inputs.push_back(make_input(hp.n_embd, opt));
    stats.inputs.push_back(make_input(n_q, opt));
    stats.inputs.push_back(make_input(hp.n_embd, opt));
    stats.inputs.push_back(make_input(hp.n_ff, opt));
  }
  stats.inputs.push_back(make_input(hp.n_embd, opt));

  const int64_t total = opt.context > 0 ? int64_t(tokens.size()) / opt.context * opt.context : 0;
  std::unique_ptr<ModelOps> ops = make_cpu_model_ops(opt.threads);
  Collector collector(stats, *ops, opt, total);
  observe_calibration(model, *ops, tokens, opt.context, abort, [&](int64_t done, int64_t all) {
    stats.tokens = done;
    if (progress) progress(done, all);
  }, [&](int32_t layer, LinearInput which, const float *x, int64_t n, int64_t cols) { collector.observe(layer, which, x, n, cols); });
  return stats;
}

}  // namespace qinfer::quant
