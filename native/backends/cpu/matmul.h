// Matrix products on host memory, split across a thread pool: the C++ entry point the Llama graph and the CPU backend call.
#pragma once

#include <cstdint>

#include "core/thread-pool.h"
#include "kernels.h"

namespace qinfer::cpu {

// Whether kernel table `k` computes products with weights of ggml type `type`.
bool matmul_supported(const Kernels &k, int32_t type);

// y[t * ldy + r] = sum_c W[r][c] * x[t * ldx + c] for r < rows, t < n_tokens. W is `rows` rows of
// `cols` elements of ggml type `type`, row after row. Activations are converted to the kernel's
// 8-bit format first (per token, in parallel). Throws qinfer::Error on an unsupported type or a
// `cols` that is not a multiple of the format's block size.
void matmul(const Kernels &k, ThreadPool &pool, int32_t type, const void *w, int64_t rows, int64_t cols, const float *x,
            int64_t ldx, int64_t n_tokens, float *y, int64_t ldy);

// Several products of the same tokens with matrices of one type and width (a layer's Q/K/V, gate/up):
// y[i][t * rows[i] + r] = W_i row r . token t. The tokens are quantized once and the rows of all the
// matrices are split over the pool in one dispatch.
void matmul_same_input(const Kernels &k, ThreadPool &pool, int32_t type, const void *const *w, const int64_t *rows, float *const *y,
                       int count, int64_t cols, const float *x, int64_t n_tokens);

// The same product for qinfer's W8A8 weights: `w` holds rows x cols int8, `w_scale` one scale per row;
// each token is quantized to int8 with its own scale (dynamic activation quantization), or, when act_scale > 0, with
// that scale fixed by calibration and values beyond it clamped (W8A8 static).
void matmul_w8a8(const Kernels &k, ThreadPool &pool, const void *w, const float *w_scale, int64_t rows, int64_t cols,
                 const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, float act_scale = 0);

// Bytes of one row of `cols` elements of `type` (cols a multiple of the block size).
uint64_t type_row_bytes(int32_t type, int64_t cols);

}  // namespace qinfer::cpu
