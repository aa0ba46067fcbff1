// Launchers of the ops the whole-model graph adds to the ABI (cuda-graph-ops.cu): KV-cache store, row bias, strided copy.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "cuda-kernels.h"

namespace qinfer::cuda {

bool kv_store_supported(int32_t kv_type);

// Rows [tokens][heads][head_dim] of F32 into the head-major cache ([heads][stride][row_bytes]) at
// positions[t], converted to kv_type as the CPU quantizer does (F32, F16 round-to-nearest-even, Q8_0).
cudaError_t launch_kv_store(int32_t kv_type, const float *src, const int32_t *positions, uint8_t *cache, int64_t tokens, int64_t heads,
                            int64_t head_dim, int64_t stride, uint64_t row_bytes, cudaStream_t stream);

// The ROPE op (x -> y, [tokens][heads][head_dim]) fused with the KV_STORE ops after it: heads [k_first,
// k_first + k_heads) of each rotated token also go to k_cache (when set) at k_positions; v's [tokens][v_heads] rows
// go to v_cache (when set) at v_positions. theta_scale = rope.freq_base^(-2 / n_dims), as launch_rope computes it.
constexpr int kRopeStoreThreads = 64;
constexpr int64_t kRopeStoreMaxHeadDim = 256;
struct RopeStoreArgs {
  const float *x;
  const int32_t *positions;
  const float *freq_factors;
  float *y;
  int64_t tokens, heads, head_dim, n_dims;
  float theta_scale;
  RopeArgs rope;
  int32_t kv_type;
  int64_t stride;
  uint64_t row_bytes;
  uint8_t *k_cache;
  const int32_t *k_positions;
  int64_t k_first, k_heads;
  const float *v;
  uint8_t *v_cache;
  const int32_t *v_positions;
  int64_t v_heads;
};
cudaError_t launch_rope_store(const RopeStoreArgs &args, cudaStream_t stream);

// y[r][i] = x[r][i] + bias[i].
cudaError_t launch_add_rows(const float *x, const float *bias, float *y, int64_t rows, int64_t n, cudaStream_t stream);

// `rows` rows of `row_bytes` (multiples of 4) between strided regions.
cudaError_t launch_copy_rows(const uint8_t *src, uint8_t *dst, int64_t rows, int64_t row_bytes, int64_t src_stride, int64_t dst_stride,
                             cudaStream_t stream);

}  // namespace qinfer::cuda
