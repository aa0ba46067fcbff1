// Calibration statistics of every linear layer's input, gathered during a full-precision forward pass:
// mean squared activation per column (importance), Hessians XᵀX (GPTQ), mean |x| and row samples (AWQ).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/llama-forward.h"
#include "core/llama-model.h"

namespace qinfer::quant {

struct CalibrationOptions {
  bool hessian = false;       // accumulate XᵀX (cols² doubles per input)
  int32_t samples = 0;        // activation rows kept per input (AWQ's output-error search)
  int32_t context = 512;      // tokens per window; windows are independent sequences
  int32_t threads = 0;
};

// Statistics of one linear input (e.g. layer 3's attention input, shared by attn_q/k/v).
struct InputStats {
  int64_t cols = 0;
  int64_t count = 0;                 // rows (tokens) seen
  std::vector<double> sum_sq;        // per column
  std::vector<double> sum_abs;       // per column
  std::vector<double> hessian;       // cols x cols, XᵀX, when asked
  std::vector<float> samples;        // up to `samples` rows of cols
  int64_t sample_rows = 0;

  // Per-column mean squared activation (importance weights), as floats.
  std::vector<float> importance() const;
  std::vector<float> mean_abs() const;
};

struct CalibrationStats {
  int32_t n_layer = 0;
  int64_t tokens = 0;
  std::vector<InputStats> inputs;  // n_layer * 4 layer inputs, then the output projection's input

  InputStats &at(int32_t layer, LinearInput which) {
    return which == LinearInput::kOutputIn ? inputs.back() : inputs[size_t(layer) * 4 + size_t(which)];
  }
  const InputStats &at(int32_t layer, LinearInput which) const {
    return which == LinearInput::kOutputIn ? inputs.back() : inputs[size_t(layer) * 4 + size_t(which)];
  }
};

// The full-precision forward over `tokens` in windows of `context` (independent sequences) on `ops`, showing every
// linear input to `observer`; progress(done, total) counts tokens. Throws on too few tokens or ids outside the
// vocabulary, and Error(E_ABORTED) when `abort` is raised.
void observe_calibration(const LlamaModel &model, ModelOps &ops, const std::vector<int32_t> &tokens, int32_t context,
                         const std::atomic<bool> *abort, const std::function<void(int64_t, int64_t)> &progress,
                         const LinearObserver &observer);

// Runs the model over `tokens` in windows of options.context and collects the statistics. progress(done, total)
// counts tokens; a raised abort flag throws Error(E_ABORTED).
CalibrationStats calibrate(const LlamaModel &model, const std::vector<int32_t> &tokens, const CalibrationOptions &options,
                           const std::atomic<bool> *abort, const std::function<void(int64_t, int64_t)> &progress);

}  // namespace qinfer::quant
