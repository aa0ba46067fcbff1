// Launchers of the ops the whole-model graph adds to the ABI (cuda-graph-ops.cu): KV-cache store, row bias, strided copy.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace qinfer::cuda {

bool kv_store_supported(int32_t kv_type);

// Rows [tokens][heads][head_dim] of F32 into the head-major cache ([heads][stride][row_bytes]) at
// positions[t], converted to kv_type as the CPU quantizer does (F32, F16 round-to-nearest-even, Q8_0).
cudaError_t launch_kv_store(int32_t kv_type, const float *src, const int32_t *positions, uint8_t *cache, int64_t tokens, int64_t heads,
                            int64_t head_dim, int64_t stride, uint64_t row_bytes, cudaStream_t stream);

// y[r][i] = x[r][i] + bias[i].
cudaError_t launch_add_rows(const float *x, const float *bias, float *y, int64_t rows, int64_t n, cudaStream_t stream);

// `rows` rows of `row_bytes` (multiples of 4) between strided regions.
cudaError_t launch_copy_rows(const uint8_t *src, uint8_t *dst, int64_t rows, int64_t row_bytes, int64_t src_stride, int64_t dst_stride,
                             cudaStream_t stream);

}  // namespace qinfer::cuda
