// GPTQ: rounding with error compensation through the inverse Hessian of the layer's inputs, emitted in any
// block format of the reference table (each block quantized with the format's own scale search).
#pragma once

#include <atomic>
#include <cstdint>

#include "core/thread-pool.h"
#include "reference.h"

namespace qinfer::quant {

struct GptqOptions {
  double damp = 0.01;      // fraction of the mean Hessian diagonal added to it
  bool act_order = false;  // quantize blocks by decreasing Hessian diagonal mass instead of left to right
};

// Quantizes rows x cols weights (w is overwritten with the compensated weights) into dst, rows of the type's
// blocks. hessian: cols x cols XᵀX of the calibration inputs. Each block of a row is quantized jointly by the
// format's importance-weighted quantizer (importance = the Hessian diagonal), then its error is carried onto the
// columns not yet quantized with the exact block update err = E·U_bb⁻¹, W_rest -= err·U_b,rest, where U is the
// upper Cholesky factor of H⁻¹ (the dampening is raised until H is positive definite).
void gptq_quantize(const QuantTraits &t, float *w, int64_t rows, int64_t cols, const double *hessian,
                   const GptqOptions &options, uint8_t *dst, ThreadPool *pool, const std::atomic<bool> *abort);

}  // namespace qinfer::quant
