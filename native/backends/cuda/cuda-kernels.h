// Launchers of the CUDA kernels (cuda-kernels.cu); each enqueues on `stream` and returns the launch error.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace qinfer::cuda {

cudaError_t launch_add_f32(const float *a, const float *b, float *dst, int64_t n, cudaStream_t stream);

// y[r] = dot(W row r, x); W row-major F32, `rows` x `cols`.
cudaError_t launch_matvec_f32(const float *w, const float *x, float *y, int64_t rows, int64_t cols, cudaStream_t stream);

// cudaSuccess when the module holds code this device can run (machine code or PTX it can JIT).
cudaError_t kernels_loadable();

}  // namespace qinfer::cuda
