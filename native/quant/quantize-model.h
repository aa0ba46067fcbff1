// Quantizing a whole GGUF model tensor by tensor: optional calibration pass, AWQ scale folding, then each tensor
// rounded by its method (round-to-nearest, importance-weighted, GPTQ) while the GGUF writer streams it out.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "calibration.h"
#include "core/gguf.h"
#include "core/llama-model.h"
#include "gptq.h"
#include "w8a8-static.h"

namespace qinfer::quant {

struct QuantizeMethod {
  bool imatrix = false;  // importance-weighted rounding with the calibration's mean squared activations
  bool gptq = false;
  bool awq = false;
  GptqOptions gptq_options;
  int32_t awq_grid = 20;
  // W8A8 static: activation scales fixed by calibration (types QINFER_TYPE_W8A8 then carry "<name>.act_scale").
  bool w8a8_static = false;
  ActCalibration act_calibration;
  bool smooth = false;  // SmoothQuant before W8A8 static, with smooth_alpha
  float smooth_alpha = 0.5f;
  bool needs_calibration() const { return imatrix || gptq || awq || w8a8_static; }
};

struct QuantizeJob {
  std::string input, output;
  std::vector<int32_t> types;   // output ggml type of each input tensor, in the input file's order
  std::vector<GgufKv> metadata;  // keys set (replaced or added) on top of the input's metadata
  QuantizeMethod method;
  std::vector<int32_t> calibration;  // token ids, when the method calibrates
  CalibrationOptions calibration_options;
  LlamaHparams hparams;              // the model's, when the method calibrates
  int32_t threads = 0;
};

enum class QuantizeStage : int32_t { kCalibrate = 0, kAwq = 1, kWrite = 2 };

struct QuantizeProgress {
  QuantizeStage stage = QuantizeStage::kWrite;
  uint64_t done = 0, total = 0;
};

struct QuantizeReport {
  uint64_t bytes = 0;
  int64_t calibration_tokens = 0;
  std::vector<float> awq_alphas;  // per layer: attention input, attention output, FFN input, FFN down input
};

// Writes job.output through a temporary file (nothing is left behind on error or abort). Errors name the tensor.
QuantizeReport quantize_model(const QuantizeJob &job, const std::atomic<bool> *abort,
                              const std::function<void(const QuantizeProgress &)> &progress);

}  // namespace qinfer::quant
