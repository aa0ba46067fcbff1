// The ops a whole-model step needs beside the kernels of cuda-ops.cu: K/V rows into the cache at positions read
// from device memory (so a captured decode graph stays valid as positions advance), a row bias, a strided copy.
#include "cuda-graph-ops.h"

#include "cuda-pdl.cuh"
#include "cuda-rows.cuh"

#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {
namespace {


// One block per (token, head); F32/F16: one element per thread; Q8_0: one warp per 32-element block,
// scaled as the CPU's rtn_q8 (amax / 127, round half away from zero).
__global__ void kv_store_kernel(int32_t kv_type, const float *src, const int32_t *positions, uint8_t *cache, int64_t heads,
                                int64_t head_dim, int64_t stride, uint64_t row_bytes) {
  pdl_wait();
  pdl_trigger();
  const int64_t t = blockIdx.x / heads, h = blockIdx.x % heads;
  const float *x = src + int64_t(blockIdx.x) * head_dim;
  const int32_t pos = positions[t];
  if (pos < 0 || pos >= stride) return;
  uint8_t *row = cache + (uint64_t(h) * uint64_t(stride) + uint64_t(pos)) * row_bytes;
  store_kv_row(kv_type, x, row, head_dim);
}

// RoPE of tokens x heads rows (blocks [0, tokens * heads)), where heads [k_first, k_first + k_heads) of each token
// are also stored as K rows into k_cache; then blocks storing v's rows (tokens x v_heads) into v_cache, if set.
__global__ void __launch_bounds__(kRopeStoreThreads) rope_store_kernel(RopeStoreArgs a) {
  pdl_wait();
  pdl_trigger();
  __shared__ float rotated[kRopeStoreMaxHeadDim];
  const int64_t rope_blocks = a.tokens * a.heads;
  if (blockIdx.x < rope_blocks) {
    const int64_t t = blockIdx.x / a.heads, h = blockIdx.x % a.heads;
    const bool to_cache = a.k_cache && h >= a.k_first && h < a.k_first + a.k_heads;
    float *o = to_cache ? rotated : a.y + int64_t(blockIdx.x) * a.head_dim;
    rope_row(a.x + int64_t(blockIdx.x) * a.head_dim, o, a.positions[t], a.freq_factors, a.head_dim, a.n_dims, a.theta_scale, a.rope);
    if (!to_cache) return;
    __syncthreads();
    float *out = a.y + int64_t(blockIdx.x) * a.head_dim;
    for (int64_t i = threadIdx.x; i < a.head_dim; i += blockDim.x) out[i] = rotated[i];
    const int32_t pos = a.k_positions[t];
    if (pos < 0 || pos >= a.stride) return;
    store_kv_row(a.kv_type, rotated, a.k_cache + (uint64_t(h - a.k_first) * uint64_t(a.stride) + uint64_t(pos)) * a.row_bytes, a.head_dim);
    return;
  }
  const int64_t i = blockIdx.x - rope_blocks, t = i / a.v_heads, h = i % a.v_heads;
  const int32_t pos = a.v_positions[t];
  if (pos < 0 || pos >= a.stride) return;
  store_kv_row(a.kv_type, a.v + i * a.head_dim, a.v_cache + (uint64_t(h) * uint64_t(a.stride) + uint64_t(pos)) * a.row_bytes, a.head_dim);
}

__global__ void add_rows_kernel(const float *x, const float *bias, float *y, int64_t total, int64_t n) {
  pdl_wait();
  pdl_trigger();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) y[i] = x[i] + bias[i % n];
}

// One block per row, 4-byte words.
__global__ void copy_rows_kernel(const uint32_t *src, uint32_t *dst, int64_t words, int64_t src_stride, int64_t dst_stride) {
  const uint32_t *s = src + int64_t(blockIdx.x) * src_stride;
  uint32_t *d = dst + int64_t(blockIdx.x) * dst_stride;
  for (int64_t i = threadIdx.x; i < words; i += blockDim.x) d[i] = s[i];
}

unsigned grid_of(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 65536 ? b : 65536);
}

}  // namespace

bool kv_store_supported(int32_t kv_type) {
  return kv_type == QINFER_TYPE_F32 || kv_type == QINFER_TYPE_F16 || kv_type == QINFER_TYPE_Q8_0;
}

cudaError_t launch_kv_store(int32_t kv_type, const float *src, const int32_t *positions, uint8_t *cache, int64_t tokens, int64_t heads,
                            int64_t head_dim, int64_t stride, uint64_t row_bytes, cudaStream_t stream) {
  if (!kv_store_supported(kv_type)) return cudaErrorNotSupported;
  if (tokens * heads > 0x7fffffff || (kv_type == QINFER_TYPE_Q8_0 && head_dim % 32)) return cudaErrorInvalidValue;
  return launch_pdl(kv_store_kernel, dim3(unsigned(tokens * heads)), dim3(128), 0, stream, kv_type, src, positions, cache, heads, head_dim, stride,
                    row_bytes);
}

cudaError_t launch_rope_store(const RopeStoreArgs &args, cudaStream_t stream) {
  if (args.head_dim > kRopeStoreMaxHeadDim || (args.k_cache && args.k_first + args.k_heads > args.heads) || (args.v_cache && args.v_heads < 1) ||
      (args.kv_type == QINFER_TYPE_Q8_0 && args.head_dim % 32) || ((args.k_cache || args.v_cache) && !kv_store_supported(args.kv_type)))
    return cudaErrorNotSupported;
  const int64_t blocks = args.tokens * args.heads + (args.v_cache ? args.tokens * args.v_heads : 0);
  if (blocks > 0x7fffffff) return cudaErrorInvalidValue;
  return launch_pdl(rope_store_kernel, dim3(unsigned(blocks)), dim3(kRopeStoreThreads), 0, stream, args);
}

cudaError_t launch_add_rows(const float *x, const float *bias, float *y, int64_t rows, int64_t n, cudaStream_t stream) {
  return launch_pdl(add_rows_kernel, dim3(grid_of(rows * n, 256)), dim3(256), 0, stream, x, bias, y, rows * n, n);
}

cudaError_t launch_copy_rows(const uint8_t *src, uint8_t *dst, int64_t rows, int64_t row_bytes, int64_t src_stride, int64_t dst_stride,
                             cudaStream_t stream) {
  if (rows > 0x7fffffff) return cudaErrorInvalidValue;
  copy_rows_kernel<<<unsigned(rows), 256, 0, stream>>>(reinterpret_cast<const uint32_t *>(src), reinterpret_cast<uint32_t *>(dst),
                                                        row_bytes / 4, src_stride / 4, dst_stride / 4);
  return cudaGetLastError();
}

}  // namespace qinfer::cuda
