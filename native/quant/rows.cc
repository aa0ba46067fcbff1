// Checked whole-matrix quantization and the float-activation dot product over the reference table.
#include "rows.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"

namespace qinfer::quant {

const QuantTraits &require_traits(int type) {
  const QuantTraits *t = quant_traits(type);
  if (!t) {
    const qinfer_type_traits *g = qinfer_type_traits_of(type);
    throw Error(QINFER_E_UNSUPPORTED, std::string("qinfer cannot quantize or compute type ") +
                                          (g ? g->name : std::to_string(type).c_str()));
  }
  return *t;
}

void check_row_length(const QuantTraits &t, int64_t cols) {
  if (cols <= 0 || cols % t.block_size != 0)
    throw Error(QINFER_E_INVALID_ARGUMENT, "rows of " + std::string(t.name) + " need a positive multiple of " +
                                               std::to_string(t.block_size) + " elements, got " + std::to_string(cols));
}

void quantize_rows(const QuantTraits &t, const float *x, int64_t rows, int64_t cols, const float *imatrix, void *dst,
                   ThreadPool *pool, const std::atomic<bool> *abort) {
  check_row_length(t, cols);
  if (imatrix && !t.quantize_weighted)
    throw Error(QINFER_E_INVALID_ARGUMENT, std::string(t.name) + " is an activation format: it takes no importance");
  // One non-finite value would poison its whole block's scale; element formats convert them as they are.
  for (int64_t i = 0; t.block_size > 1 && i < rows * cols; i++)
    if (!std::isfinite(x[i]))
      throw Error(QINFER_E_INVALID_ARGUMENT, "cannot quantize a non-finite value (" + std::to_string(x[i]) + ") at row " +
                                                 std::to_string(i / cols) + ", column " + std::to_string(i % cols));
  if (imatrix)
    for (int64_t j = 0; j < cols; j++)
      if (!std::isfinite(imatrix[j]) || imatrix[j] < 0)
        throw Error(QINFER_E_INVALID_ARGUMENT, "importance weights must be finite and non-negative; column " +
                                                   std::to_string(j) + " has " + std::to_string(imatrix[j]));
  auto *out = static_cast<uint8_t *>(dst);
  const size_t stride = row_bytes(t, cols);
  auto chunk = [&](int64_t r0, int64_t r1) {
    if (abort && abort->load(std::memory_order_relaxed)) throw Error(QINFER_E_ABORTED, "quantization was aborted");
    for (int64_t r = r0; r < r1; r++) {
      if (imatrix)
        t.quantize_weighted(x + r * cols, out + r * stride, cols, imatrix);
      else
        t.quantize(x + r * cols, out + r * stride, cols);
    }
  };
  // Chunks of about 64K elements: enough work to amortise dispatch, small enough to balance and abort.
  const int64_t grain = std::max<int64_t>(1, 65536 / cols);
  if (pool)
    pool->parallel_for(rows, grain, chunk);
  else
    for (int64_t r = 0; r < rows; r += grain) chunk(r, std::min(rows, r + grain));
}

float vec_dot_f32(const QuantTraits &t, const void *w, const float *x, int64_t n) {
  if (!t.vec_dot) throw Error(QINFER_E_INVALID_ARGUMENT, std::string(t.name) + " is an activation format: no dot product");
  check_row_length(t, n);
  const QuantTraits &act = require_traits(t.vec_dot_type);
  check_row_length(act, n);
  std::vector<uint8_t> qa(row_bytes(act, n));
  act.quantize(x, qa.data(), n);
  return t.vec_dot(w, qa.data(), n);
}

}  // namespace qinfer::quant
