// The fast matrix-product paths behind launch_matmul (cuda-matmul.cu picks one per call): each returns
// cudaErrorNotSupported, having launched nothing, for a type or shape it does not take.
#pragma once

#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

namespace qinfer::cuda {

// Q4_0 and Q8_0 with 1..kMatvecQ8MaxTokens tokens (decode): 8-bit activations and dp4a, cols % 256 == 0
// (measured on the H100: at 8 tokens the tensor-core path is faster).
constexpr int64_t kMatvecQ8MaxTokens = 4;
// Optional work fused into that product (cuda-backend.cc's fusion of op sequences):
// pre 1: the activations are RMSNorm(x rows of `cols`, eps) * a2 (a2 may be null), as the RMS_NORM op computes them;
// pre 2: they are silu(x) * a2, as SILU_MUL computes them; either way also written to pre_out when it is set.
// sum set: sum = res + y as well (a residual add after the product); y is still written.
struct MatvecFusion {
  int pre = 0;
  const float *a2 = nullptr;
  float *pre_out = nullptr;
  float eps = 0.f;
  const float *res = nullptr;
  float *sum = nullptr;
};
cudaError_t launch_matvec_q8(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                             cudaStream_t stream, const MatvecFusion *fuse = nullptr);

// Q4_0 and Q8_0 with more tokens (prompts, batches): weights dequantized to f16 fragments in registers,
// tensor-core mma.sync (or wgmma, below) against f16 activations, cols % 256 == 0.
cudaError_t launch_matmul_tc(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                             cudaStream_t stream);

// The same products on Hopper (cuda-matmul-wgmma.cu; launch_matmul_tc takes it when available): weights decoded to
// f16 A fragments in registers, warpgroup mma (wgmma) against the f16 activations xh (tokens x cols) in shared memory.
// Available when the module was built with sm_90a machine code (QINFER_CUDA_HAS_WGMMA) and the device is compute 9.0.
bool matmul_wgmma_available();
cudaError_t launch_matmul_wgmma(int32_t type, const uint8_t *w, const __half *xh, float *y, int64_t rows, int64_t cols, int64_t tokens,
                                cudaStream_t stream);

// Resident blocks per multiprocessor of `kernel` on the current device with `threads` and `smem` dynamic
// shared bytes (raising the kernel's shared-memory limit first); cached, so launches pay it once.
struct DeviceFit {
  int sms;
  int blocks_per_sm;
};
cudaError_t fit_kernel(const void *kernel, int threads, int smem, DeviceFit *out);

}  // namespace qinfer::cuda
