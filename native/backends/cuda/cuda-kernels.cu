// CUDA kernels of the qinfer-cuda module: F32 vector add, and the module's load check.
#include "cuda-kernels.h"

#include "cuda-pdl.cuh"

namespace qinfer::cuda {
namespace {

__global__ void add_f32_kernel(const float *a, const float *b, float *dst, int64_t n) {
  pdl_wait();
  pdl_trigger();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = a[i] + b[i];
}

}  // namespace

cudaError_t launch_add_f32(const float *a, const float *b, float *dst, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  constexpr int threads = 256;
  int64_t blocks = (n + threads - 1) / threads;
  return launch_pdl(add_f32_kernel, dim3(unsigned(blocks < 65536 ? blocks : 65536)), dim3(threads), 0, stream, a, b, dst, n);
}

cudaError_t kernels_loadable() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, add_f32_kernel);
}

}  // namespace qinfer::cuda
