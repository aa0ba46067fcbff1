// The ops a whole-model step needs beside the kernels of cuda-ops.cu: K/V rows into the cache at positions read
// from device memory (so a captured decode graph stays valid as positions advance), a row bias, a strided copy.
#include "cuda-graph-ops.h"

#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {
namespace {

constexpr int kWarp = 32;

// One block per (token, head); F32/F16: one element per thread; Q8_0: one warp per 32-element block,
// scaled as the CPU's rtn_q8 (amax / 127, round half away from zero).
__global__ void kv_store_kernel(int32_t kv_type, const float *src, const int32_t *positions, uint8_t *cache, int64_t heads,
                                int64_t head_dim, int64_t stride, uint64_t row_bytes) {
  const int64_t t = blockIdx.x / heads, h = blockIdx.x % heads;
  const float *x = src + int64_t(blockIdx.x) * head_dim;
  const int32_t pos = positions[t];
  if (pos < 0 || pos >= stride) return;
  uint8_t *row = cache + (uint64_t(h) * uint64_t(stride) + uint64_t(pos)) * row_bytes;
  if (kv_type == QINFER_TYPE_F32) {
    for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) reinterpret_cast<float *>(row)[i] = x[i];
  } else if (kv_type == QINFER_TYPE_F16) {
    for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) reinterpret_cast<uint16_t *>(row)[i] = qinfer_f32_to_half(x[i]);
  } else {
    const int lane = threadIdx.x % kWarp;
    for (int64_t b = threadIdx.x / kWarp; b < head_dim / 32; b += blockDim.x / kWarp) {
      const float v = x[b * 32 + lane];
      float amax = fabsf(v);
      for (int off = kWarp / 2; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      uint8_t *blk = row + b * 34;
      if (lane == 0) {
        const uint16_t dh = qinfer_f32_to_half(d);
        blk[0] = uint8_t(dh & 0xff);
        blk[1] = uint8_t(dh >> 8);
      }
      blk[2 + lane] = uint8_t(int8_t(roundf(v * id)));
    }
  }
}

__global__ void add_rows_kernel(const float *x, const float *bias, float *y, int64_t total, int64_t n) {
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
  kv_store_kernel<<<unsigned(tokens * heads), 128, 0, stream>>>(kv_type, src, positions, cache, heads, head_dim, stride, row_bytes);
  return cudaGetLastError();
}

cudaError_t launch_add_rows(const float *x, const float *bias, float *y, int64_t rows, int64_t n, cudaStream_t stream) {
  add_rows_kernel<<<grid_of(rows * n, 256), 256, 0, stream>>>(x, bias, y, rows * n, n);
  return cudaGetLastError();
}

cudaError_t launch_copy_rows(const uint8_t *src, uint8_t *dst, int64_t rows, int64_t row_bytes, int64_t src_stride, int64_t dst_stride,
                             cudaStream_t stream) {
  if (rows > 0x7fffffff) return cudaErrorInvalidValue;
  copy_rows_kernel<<<unsigned(rows), 256, 0, stream>>>(reinterpret_cast<const uint32_t *>(src), reinterpret_cast<uint32_t *>(dst),
                                                        row_bytes / 4, src_stride / 4, dst_stride / 4);
  return cudaGetLastError();
}

}  // namespace qinfer::cuda
