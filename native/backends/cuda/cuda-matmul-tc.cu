// Batched products (prompts, many sequences) of Q4_0 and Q8_0 weights on the tensor cores: activations
// converted once to f16, raw weight tiles and activation tiles streamed into shared memory with
// asynchronous copies, each weight block dequantized straight into mma B fragments (f16, as exact as the
// CPU's dequantization up to f16 rounding), f32 accumulators; split over K when tiles are too few.
#include <algorithm>
#include <mutex>

#include "cuda-matmul-paths.h"
#include "cuda-ptx.cuh"
#include "cuda-raw-blocks.cuh"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {
namespace {

constexpr int kThreads = 256;      // 8 warps
constexpr int kStageK = 256;       // columns per pipeline stage: 16-byte multiples of both formats
constexpr int kXPitch = 2 * kStageK + 16;  // bytes per activation row in shared memory: ldmatrix rows hit distinct banks
template <class R>
constexpr int kTileBytes = kStageK / 32 * R::kBlockBytes;  // one weight row's stage

// One block computes BM tokens x BN weight rows over stages [z * per_split, ...) of K; warps tile it WM x WN.
template <class R, int BM, int BN, int WM, int WN, int S>
__global__ void __launch_bounds__(kThreads) tc_kernel(const uint8_t *__restrict__ w, uint64_t row_bytes, const __half *__restrict__ xh,
                                                      float *__restrict__ y, int64_t rows, int cols, int tokens, int per_split, bool atomic) {
  constexpr int TM = BM / WM, TN = BN / WN, MI = TM / 16, NJ = TN / 8;
  constexpr int kWBytes = BN * kTileBytes<R>, kStageBytes = kWBytes + BM * kXPitch;
  static_assert(WM * WN == kThreads / 32 && TM % 16 == 0 && TN % 8 == 0, "warp tiling");
  extern __shared__ int4 smem[];
  uint8_t *base = reinterpret_cast<uint8_t *>(smem);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, wm = warp / WN, wn = warp % WN;
  const int64_t n0 = int64_t(blockIdx.x) * BN;
  const int m0 = blockIdx.y * BM;
  const int kb = blockIdx.z * per_split, ke = min(cols / kStageK, kb + per_split);

  auto load = [&](int st, int buf) {
    uint8_t *sw = base + buf * kStageBytes;
    constexpr int w16 = kTileBytes<R> / 16;
    for (int i = tid; i < BN * w16; i += kThreads) {
      const int r = i / w16, c = i % w16;
      const int64_t row = min(n0 + r, rows - 1);  // rows past the end load a real row; their results are dropped
      cp_async16(sw + r * kTileBytes<R> + 16 * c, w + uint64_t(row) * row_bytes + uint64_t(st) * kTileBytes<R> + 16 * c);
    }
    uint8_t *sx = sw + kWBytes;
    for (int i = tid; i < BM * 32; i += kThreads) {
      const int m = i / 32, c = i % 32, t = m0 + m;
      cp_async16(sx + m * kXPitch + 16 * c, xh + int64_t(min(t, tokens - 1)) * cols + st * kStageK + 8 * c, t < tokens ? 16 : 0);
    }
  };

  float acc[MI][NJ][4];
#pragma unroll
  for (int i = 0; i < MI; i++)
#pragma unroll
    for (int j = 0; j < NJ; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

#pragma unroll
  for (int s = 0; s < S - 1; s++) {
    if (kb + s < ke) load(kb + s, s);
    cp_async_commit();
  }
  for (int st = kb; st < ke; st++) {
    cp_async_wait<S - 2>();
    __syncthreads();  // stage st landed for every thread, and stage st - 1's buffer is free
    if (st + S - 1 < ke) load(st + S - 1, (st + S - 1 - kb) % S);
    cp_async_commit();
    const uint8_t *sw = base + ((st - kb) % S) * kStageBytes, *sx = sw + kWBytes;
#pragma unroll  // whole stage: fragment loads of later blocks overlap the mma of earlier ones
    for (int b = 0; b < kStageK / 32; b++) {
      uint32_t bf[NJ][2][2];
#pragma unroll
      for (int j = 0; j < NJ; j++) R::frags(sw + (wn * TN + j * 8 + lane / 4) * kTileBytes<R> + b * R::kBlockBytes, lane % 4, bf[j]);
#pragma unroll
      for (int s = 0; s < 2; s++) {
#pragma unroll
        for (int i = 0; i < MI; i++) {
          uint32_t a[4];
          ldmatrix_x4(a, sx + (wm * TM + i * 16 + lane % 16) * kXPitch + (b * 32 + s * 16 + (lane / 16) * 8) * 2);
#pragma unroll
          for (int j = 0; j < NJ; j++) mma_f16(acc[i][j], a, bf[j][s]);
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < MI; i++)
#pragma unroll
    for (int j = 0; j < NJ; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int t = m0 + wm * TM + i * 16 + lane / 4 + 8 * (e / 2);
        const int64_t r = n0 + wn * TN + j * 8 + 2 * (lane % 4) + e % 2;
        if (t < tokens && r < rows) {
          float *dst = y + int64_t(t) * rows + r;
          if (atomic) atomicAdd(dst, acc[i][j][e]);
          else *dst = acc[i][j][e];
        }
      }
}

__global__ void to_half_kernel(const float4 *__restrict__ x, uint2 *__restrict__ out, int64_t n4) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n4; i += int64_t(gridDim.x) * blockDim.x) {
    const float4 v = x[i];
    out[i] = make_uint2(h2_bits(__floats2half2_rn(v.x, v.y)), h2_bits(__floats2half2_rn(v.z, v.w)));
  }
}

// f16 activations live in one fixed per-device buffer, made once and never moved (a captured graph may
// hold its address); longer products run in token chunks that fit it.
constexpr size_t kScratchBytes = size_t(32) << 20;
constexpr int kMaxDevices = 64;

cudaError_t scratch(int device, __half **out) {
  static std::mutex mu;
  static void *buffers[kMaxDevices] = {};
  if (device < 0 || device >= kMaxDevices) return cudaErrorInvalidDevice;
  std::lock_guard<std::mutex> lock(mu);
  if (!buffers[device]) {
    // Allowed while this thread captures a graph: the allocation itself is not part of it.
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    cudaThreadExchangeStreamCaptureMode(&mode);
    cudaError_t e = cudaMalloc(&buffers[device], kScratchBytes);
    cudaThreadExchangeStreamCaptureMode(&mode);
    if (e) {
      buffers[device] = nullptr;
      return e;
    }
  }
  *out = static_cast<__half *>(buffers[device]);
  return cudaSuccess;
}

template <class R, int BM, int BN, int WM, int WN, int S>
cudaError_t run(const uint8_t *w, const __half *xh, float *y, int64_t rows, int64_t cols, int64_t tokens, cudaStream_t stream) {
  auto kernel = tc_kernel<R, BM, BN, WM, WN, S>;
  const int smem = S * (BN * kTileBytes<R> + BM * kXPitch);
  DeviceFit fit;
  if (cudaError_t e = fit_kernel(reinterpret_cast<const void *>(kernel), kThreads, smem, &fit)) return e;
  if (fit.blocks_per_sm < 1) return cudaErrorNotSupported;
  const int64_t row_tiles = (rows + BN - 1) / BN, token_tiles = (tokens + BM - 1) / BM, stages = cols / kStageK;
  if (row_tiles > 0x7fffffff || token_tiles > 65535) return cudaErrorInvalidValue;
  // Too few tiles to fill the GPU (few rows, few tokens): split K, partial sums added atomically.
  const int64_t resident = int64_t(fit.sms) * fit.blocks_per_sm, tiles = row_tiles * token_tiles;
  const int64_t split = std::min<int64_t>({resident / tiles, stages, 64});
  const int64_t per_split = split > 1 ? (stages + split - 1) / split : stages;
  const int64_t splits = (stages + per_split - 1) / per_split;
  if (splits > 1) {
    if (cudaError_t e = cudaMemsetAsync(y, 0, size_t(tokens * rows) * sizeof(float), stream)) return e;
  }
  const uint64_t row_bytes = uint64_t(stages) * kTileBytes<R>;
  kernel<<<dim3(unsigned(row_tiles), unsigned(token_tiles), unsigned(splits)), kThreads, size_t(smem), stream>>>(
      w, row_bytes, xh, y, rows, int(cols), int(tokens), int(per_split), splits > 1);
  return cudaGetLastError();
}

template <class R>
cudaError_t run_tokens(const uint8_t *w, const __half *xh, float *y, int64_t rows, int64_t cols, int64_t tokens, cudaStream_t stream) {
  // Warps side by side along the rows (WM = 1): each weight block is dequantized once per block of
  // tokens, and a warp's fragments serve all its tokens (measured: 64-row tiles for few tokens were slower).
  if (tokens <= 16) return run<R, 16, 128, 1, 8, 4>(w, xh, y, rows, cols, tokens, stream);
  if (tokens <= 32) return run<R, 32, 128, 1, 8, 3>(w, xh, y, rows, cols, tokens, stream);
  // More tokens: 64 x 32 warp tiles, so each warp's activation fragments (ldmatrix, shared memory's
  // busiest traffic) serve 4 column tiles and its dequantized weights 4 row tiles.
  return run<R, 64, 256, 1, 8, 2>(w, xh, y, rows, cols, tokens, stream);
}

}  // namespace

cudaError_t launch_matmul_tc(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                             cudaStream_t stream) {
  if ((type != QINFER_TYPE_Q4_0 && type != QINFER_TYPE_Q8_0) || cols % kStageK || cols > (int64_t(1) << 24) ||
      reinterpret_cast<uintptr_t>(w) % 16 || reinterpret_cast<uintptr_t>(x) % 16)
    return cudaErrorNotSupported;
  const int64_t chunk = std::min<int64_t>(tokens, int64_t(kScratchBytes / (size_t(cols) * 2)) / 128 * 128);
  if (chunk < 1) return cudaErrorNotSupported;
  int device = 0;
  if (cudaError_t e = cudaGetDevice(&device)) return e;
  __half *xh = nullptr;
  if (cudaError_t e = scratch(device, &xh)) return e;
  const bool wgmma = matmul_wgmma_available();
  for (int64_t t0 = 0; t0 < tokens; t0 += chunk) {
    const int64_t n = std::min(chunk, tokens - t0);
    const int64_t n4 = n * cols / 4;
    to_half_kernel<<<unsigned(std::min<int64_t>((n4 + 255) / 256, 4096)), 256, 0, stream>>>(
        reinterpret_cast<const float4 *>(x + t0 * cols), reinterpret_cast<uint2 *>(xh), n4);
    if (cudaError_t e = cudaGetLastError()) return e;
    cudaError_t e = wgmma ? launch_matmul_wgmma(type, w, xh, y + t0 * rows, rows, cols, n, stream)
                    : type == QINFER_TYPE_Q4_0 ? run_tokens<RawQ4_0>(w, xh, y + t0 * rows, rows, cols, n, stream)
                                               : run_tokens<RawQ8_0>(w, xh, y + t0 * rows, rows, cols, n, stream);
    if (e) return e;
  }
  return cudaSuccess;
}

}  // namespace qinfer::cuda
