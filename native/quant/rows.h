// Whole-matrix operations over the reference table, with argument checks that throw qinfer::Error:
// the entry points the quantizer and the N-API bindings share.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/thread-pool.h"
#include "reference.h"

namespace qinfer::quant {

// Traits of a type qinfer can quantize and compute, else E_UNSUPPORTED naming the type.
const QuantTraits &require_traits(int type);

// E_INVALID_ARGUMENT unless cols is a positive multiple of the block size.
void check_row_length(const QuantTraits &t, int64_t cols);

// rows x cols floats into rows rows of blocks; imatrix (cols entries, or null for round-to-nearest)
// selects the importance-weighted quantizer. Block formats reject NaN and infinity (E_INVALID_ARGUMENT
// naming the row and column), importance must be finite and non-negative.
// Rows are split across `pool` when given; a raised `abort` flag stops between chunks with E_ABORTED.
void quantize_rows(const QuantTraits &t, const float *x, int64_t rows, int64_t cols, const float *imatrix, void *dst,
                   ThreadPool *pool = nullptr, const std::atomic<bool> *abort = nullptr);

// sum_i w[i] * x[i]: x is first quantized to the type's activation format, as the kernels do.
float vec_dot_f32(const QuantTraits &t, const void *w, const float *x, int64_t n);

}  // namespace qinfer::quant
