// CUDA kernels of the qinfer-cuda module: F32 vector add and a warp-per-row F32 matrix-vector product.
#include "cuda-kernels.h"

namespace qinfer::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kMatvecWarps = 8;  // rows per block

__global__ void add_f32_kernel(const float *a, const float *b, float *dst, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = a[i] + b[i];
}

// One warp per row: lanes stride over the columns (coalesced), then a shuffle reduction.
__global__ void matvec_f32_kernel(const float *w, const float *x, float *y, int64_t rows, int64_t cols) {
  int64_t row = int64_t(blockIdx.x) * kMatvecWarps + threadIdx.x / kWarp;
  int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const float *wr = w + row * cols;
  float sum = 0.f;
  for (int64_t c = lane; c < cols; c += kWarp) sum += wr[c] * x[c];
  for (int off = kWarp / 2; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) y[row] = sum;
}

}  // namespace

cudaError_t launch_add_f32(const float *a, const float *b, float *dst, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  constexpr int threads = 256;
  int64_t blocks = (n + threads - 1) / threads;
  add_f32_kernel<<<unsigned(blocks < 65536 ? blocks : 65536), threads, 0, stream>>>(a, b, dst, n);
  return cudaGetLastError();
}

cudaError_t launch_matvec_f32(const float *w, const float *x, float *y, int64_t rows, int64_t cols, cudaStream_t stream) {
  int64_t blocks = (rows + kMatvecWarps - 1) / kMatvecWarps;
  if (blocks > 0x7fffffff) return cudaErrorInvalidValue;
  matvec_f32_kernel<<<unsigned(blocks), kMatvecWarps * kWarp, 0, stream>>>(w, x, y, rows, cols);
  return cudaGetLastError();
}

cudaError_t kernels_loadable() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, matvec_f32_kernel);
}

}  // namespace qinfer::cuda
