// Matrix products: the choice among the fast Q4_0/Q8_0 paths (cuda-matvec-q8.cu, cuda-matmul-tc.cu) and
// the general fused dequantize-and-dot kernels of every weight format with F32 activations (one warp per
// weight row, each lane decoding whole 32-element chunks, up to 8 tokens per pass so a weight byte is read
// once per 8 tokens); and the embedding lookup (GET_ROWS) through the same decoders.
#include <cmath>
#include <mutex>
#include <vector>

#include "cuda-formats.cuh"
#include "cuda-kernels.h"
#include "cuda-matmul-paths.h"

namespace qinfer::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;  // one warp each
constexpr int kTokensPerPass = 8;

template <class F, int NT>
__global__ void __launch_bounds__(kRowsPerBlock *kWarp) matmul_kernel(const uint8_t *w, uint64_t row_bytes, const float *x, float *y,
                                                                      int64_t rows, int64_t cols, int64_t tokens) {
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const int64_t t0 = int64_t(blockIdx.y) * NT;
  const int nt = int(tokens - t0 < NT ? tokens - t0 : NT);
  const uint8_t *wr = w + uint64_t(row) * row_bytes;
  const int64_t chunks = cols / F::kChunk;
  float acc[NT];
#pragma unroll
  for (int t = 0; t < NT; t++) acc[t] = 0.f;
  for (int64_t ci = lane; ci < chunks; ci += kWarp) {
    float v[F::kChunk];
    F::load(wr, ci, v);
#pragma unroll
    for (int t = 0; t < NT; t++) {
      if (t < nt) {
        const float *xt = x + (t0 + t) * cols + ci * F::kChunk;
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < F::kChunk; i++) s = fmaf(v[i], __ldg(xt + i), s);
        acc[t] += s;
      }
    }
  }
#pragma unroll
  for (int t = 0; t < NT; t++) {
    float s = acc[t];
    for (int off = kWarp / 2; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0 && t < nt) y[(t0 + t) * rows + row] = s;
  }
}

// Decode (one token) of the 32-element-chunk formats: the block copies x into shared memory once, padded
// by one float every 32 so the lanes' chunk-strided reads hit distinct banks, then walks row groups
// grid-stride so that copy is paid once per block rather than once per 8 rows.
template <class F>
__global__ void __launch_bounds__(kRowsPerBlock *kWarp) matvec_shared_x_kernel(const uint8_t *w, uint64_t row_bytes, const float *x, float *y,
                                                                               int64_t rows, int64_t cols) {
  extern __shared__ float xs[];
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) xs[i + i / kWarp] = x[i];
  __syncthreads();
  const int lane = threadIdx.x % kWarp;
  const int64_t chunks = cols / F::kChunk;
  for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp; row < rows; row += int64_t(gridDim.x) * kRowsPerBlock) {
    const uint8_t *wr = w + uint64_t(row) * row_bytes;
    float acc = 0.f;
    // Unrolled so several chunks' loads are in flight before the first is used.
#pragma unroll 4
    for (int64_t ci = lane; ci < chunks; ci += kWarp) {
      float v[F::kChunk];
      F::load(wr, ci, v);
      const float *xc = xs + ci * (kWarp + 1);
#pragma unroll
      for (int i = 0; i < F::kChunk; i++) acc = fmaf(v[i], xc[i], acc);
    }
    for (int off = kWarp / 2; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) y[row] = acc;
  }
}

// Largest padded x the shared-memory decode path takes (above it: the plain kernel).
constexpr int64_t kSharedXMaxBytes = 160 * 1024;

// One block per id; an id outside the table yields a row of NaN (the device cannot raise the CPU's error).
template <class F>
__global__ void get_rows_kernel(const uint8_t *table, uint64_t row_bytes, int64_t rows, int64_t cols, const int32_t *ids, float *out) {
  const int32_t id = ids[blockIdx.x];
  float *o = out + int64_t(blockIdx.x) * cols;
  const int64_t chunks = cols / F::kChunk;
  for (int64_t ci = threadIdx.x; ci < chunks; ci += blockDim.x) {
    float v[F::kChunk];
    if (id >= 0 && id < rows) F::load(table + uint64_t(id) * row_bytes, ci, v);
    else
      for (int i = 0; i < F::kChunk; i++) v[i] = NAN;
#pragma unroll
    for (int i = 0; i < F::kChunk; i++) o[ci * F::kChunk + i] = v[i];
  }
}

uint64_t row_bytes_of(int64_t cols, int block_elems, int block_bytes) { return uint64_t(cols / block_elems) * uint64_t(block_bytes); }

}  // namespace

bool matmul_supported(int32_t type) {
  return with_format(type, [](auto) {});
}

cudaError_t fit_kernel(const void *kernel, int threads, int smem, DeviceFit *out) {
  struct Entry {
    const void *kernel;
    int device, threads, smem;
    DeviceFit fit;
  };
  static std::mutex mu;
  static std::vector<Entry> cache;
  int device = 0;
  if (cudaError_t e = cudaGetDevice(&device)) return e;
  std::lock_guard<std::mutex> lock(mu);
  for (const Entry &c : cache)
    if (c.kernel == kernel && c.device == device && c.threads == threads && c.smem == smem) {
      *out = c.fit;
      return cudaSuccess;
    }
  Entry c{kernel, device, threads, smem, {}};
  if (cudaError_t e = cudaDeviceGetAttribute(&c.fit.sms, cudaDevAttrMultiProcessorCount, device)) return e;
  // The kernel's limit goes to the device's maximum, not to this smem: a later launch with more shared
  // memory may find its own entry cached and skip this call.
  // Static shared memory of the kernel comes off the top.
  int smem_max = 0;
  if (cudaError_t e = cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, device)) return e;
  cudaFuncAttributes attrs;
  if (cudaError_t e = cudaFuncGetAttributes(&attrs, kernel)) return e;
  smem_max -= int(attrs.sharedSizeBytes);
  if (smem > smem_max) return cudaErrorNotSupported;
  if (cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max)) return e;
  if (cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&c.fit.blocks_per_sm, kernel, threads, size_t(smem))) return e;
  cache.push_back(c);
  *out = c.fit;
  return cudaSuccess;
}

cudaError_t launch_matmul(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                          cudaStream_t stream) {
  if (rows < 1 || tokens < 1) return cudaSuccess;
  cudaError_t fast = tokens <= kMatvecQ8MaxTokens ? launch_matvec_q8(type, w, x, y, rows, cols, tokens, stream)
                                                  : launch_matmul_tc(type, w, x, y, rows, cols, tokens, stream);
  if (fast != cudaErrorNotSupported) return fast;
  const int64_t row_blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t passes = (tokens + kTokensPerPass - 1) / kTokensPerPass;
  if (row_blocks > 0x7fffffff || passes > 65535) return cudaErrorInvalidValue;
  bool known = with_format(type, [&](auto fmt) {
    using F = decltype(fmt);
    const uint64_t rb = row_bytes_of(cols, F::kBlockElems, F::kBlockBytes);
    const int64_t smem = (cols + cols / kWarp) * 4;
    if (tokens == 1 && F::kChunk == kWarp && smem <= kSharedXMaxBytes) {
      int device = 0, sms = 0;
      cudaGetDevice(&device);
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
      if (smem > 48 * 1024) cudaFuncSetAttribute(matvec_shared_x_kernel<F>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
      const int64_t blocks = row_blocks < int64_t(sms) * 4 ? row_blocks : int64_t(sms) * 4;
      matvec_shared_x_kernel<F><<<unsigned(blocks), kRowsPerBlock * kWarp, size_t(smem), stream>>>(w, rb, x, y, rows, cols);
    } else if (tokens == 1)
      matmul_kernel<F, 1><<<dim3(unsigned(row_blocks), 1), kRowsPerBlock * kWarp, 0, stream>>>(w, rb, x, y, rows, cols, tokens);
    else
      matmul_kernel<F, kTokensPerPass>
          <<<dim3(unsigned(row_blocks), unsigned(passes)), kRowsPerBlock * kWarp, 0, stream>>>(w, rb, x, y, rows, cols, tokens);
  });
  return known ? cudaGetLastError() : cudaErrorNotSupported;
}

cudaError_t launch_get_rows(int32_t type, const uint8_t *table, int64_t rows, int64_t cols, const int32_t *ids, int64_t n_ids, float *out,
                            cudaStream_t stream) {
  if (n_ids > 0x7fffffff) return cudaErrorInvalidValue;
  bool known = with_format(type, [&](auto fmt) {
    using F = decltype(fmt);
    get_rows_kernel<F><<<unsigned(n_ids), 128, 0, stream>>>(table, row_bytes_of(cols, F::kBlockElems, F::kBlockBytes), rows, cols, ids, out);
  });
  return known ? cudaGetLastError() : cudaErrorNotSupported;
}

}  // namespace qinfer::cuda
