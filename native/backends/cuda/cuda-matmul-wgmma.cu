// Batched Q4_0/Q8_0 products on Hopper's warpgroup tensor-core instruction (wgmma, sm_90a): each warp decodes its
// 16 weight rows straight into f16 A fragments in registers (as cuda-matmul-tc.cu decodes B fragments for
// mma.sync), the f16 activations stream through 128-byte-swizzled shared-memory tiles by cp.async and are read by
// the tensor cores through descriptors, f32 accumulators. Two warpgroups per block (128 weight rows) share one
// activation tile of N tokens; one warpgroup's decode overlaps the other's tensor-core work.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda-matmul-paths.h"
#include "cuda-ptx.cuh"
#include "cuda-raw-blocks.cuh"
#include "cuda-wgmma.cuh"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {
namespace {

constexpr int kWarpgroups = 2, kThreads = 128 * kWarpgroups, kRowsPerBlock = 64 * kWarpgroups;

// Shared memory of one pipeline stage (KS columns): the activation tile first (KS / 64 swizzle atoms of N token
// rows x 128 bytes, each atom 1024-aligned as the descriptor needs), then the raw weight blocks of the block's
// rows (kRawPitch bytes per row, copied as they lie in memory).
template <class R, int N, int KS>
struct Stage {
  static constexpr int kActBytes = N * KS * 2;
  static constexpr int kRawPitch = KS / 32 * R::kBlockBytes;
  static constexpr int kBytes = (kActBytes + kRowsPerBlock * kRawPitch + 1023) / 1024 * 1024;
  // A row's stage is a 16-byte multiple at 256 columns (144 / 272 bytes), an 8-byte one at 128 (72 / 136), only a
  // 4-byte one at 64 (36 / 68).
  static constexpr int kCopy = kRawPitch % 16 == 0 ? 16 : kRawPitch % 8 == 0 ? 8 : 4;
  static_assert(kActBytes % 1024 == 0 && KS % 64 == 0, "swizzle atoms");
};

template <int N, int KS, int S>
constexpr int smem_bytes(int raw_block_bytes) {
  return S * ((N * KS * 2 + kRowsPerBlock * (KS / 32 * raw_block_bytes) + 1023) / 1024 * 1024) + 1024;  // + alignment slack
}

// One block: weight rows [128 x, +128) x tokens [N y, +N) over stages [z * per_split, ...) of KS columns; S stages
// in the ring (S - 1 loading ahead, one being read).
template <class R, int N, int KS, int S>
__global__ void __launch_bounds__(kThreads, 1) wgmma_kernel(const uint8_t *__restrict__ w, uint64_t row_bytes, const __half *__restrict__ xh,
                                                            float *__restrict__ y, int64_t rows, int cols, int tokens, int per_split, bool atomic) {
#if QINFER_SM90A
  using St = Stage<R, N, KS>;
  static_assert(S >= 2, "a ring");
  extern __shared__ uint8_t smem_raw[];
  uint8_t *base = smem_raw + ((1024 - smem_addr(smem_raw) % 1024) % 1024);
  const int tid = threadIdx.x, wg = tid / 128, warp = tid / 32 % 4, lane = tid % 32;
  const int64_t m0 = int64_t(blockIdx.x) * kRowsPerBlock;
  const int n0 = blockIdx.y * N;
  const int kb = blockIdx.z * per_split, ke = min(cols / KS, kb + per_split);

  auto load = [&](int st) {
    uint8_t *sa = base + (st % S) * St::kBytes, *sr = sa + St::kActBytes;
    constexpr int per_row = St::kRawPitch / St::kCopy;
    for (int i = tid; i < kRowsPerBlock * per_row; i += kThreads) {
      const int r = i / per_row, c = i % per_row;
      const int64_t row = min(m0 + r, rows - 1);  // rows past the end load a real row; their results are dropped
      const uint8_t *src = w + uint64_t(row) * row_bytes + uint64_t(st) * St::kRawPitch + c * St::kCopy;
      if constexpr (St::kCopy == 16) cp_async16(sr + r * St::kRawPitch + 16 * c, src);
      else if constexpr (St::kCopy == 8) cp_async8(sr + r * St::kRawPitch + 8 * c, src);
      else cp_async4(sr + r * St::kRawPitch + 4 * c, src);
    }
    // 16-byte chunk c of token m goes to atom c / 8, row m, chunk (c % 8) ^ (m % 8); tokens past the end are zeros.
    constexpr int chunks = KS / 8;
    for (int i = tid; i < N * chunks; i += kThreads) {
      const int m = i / chunks, c = i % chunks, t = n0 + m;
      cp_async16(sa + (c / 8) * (N * 128) + m * 128 + (((c % 8) ^ (m % 8)) << 4),
                 xh + int64_t(min(t, tokens - 1)) * cols + int64_t(st) * KS + 8 * c, t < tokens ? 16 : 0);
    }
  };

  float acc[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; i++) {
    acc[i] = 0.f;
    keep_reg(acc[i]);  // zeroed here, once, not on each path around the main loop (ptxas would serialize the wgmmas)
  }
  // Columns [64 u, +64) of stage st, waited for before anything else runs. Measured on the H200: with a group still
  // running during the next decode, products at 64-256 tokens per tile came out wrong (right at 16-32, the error
  // growing with the tile's width), as if an issued A fragment's registers were reused before the tensor cores read
  // them; waiting here fixed it. The other warpgroup's decode overlaps these wgmmas.
  auto step = [&](int st, int u) {
    const uint8_t *sa = base + (st % S) * St::kBytes;
    const uint8_t *r0 = sa + St::kActBytes + (wg * 64 + warp * 16 + lane / 4) * St::kRawPitch + 2 * u * R::kBlockBytes;
    uint32_t frag[4][4];
#pragma unroll
    for (int b = 0; b < 2; b++) {
      uint32_t lo[2][2], hi[2][2];
      R::frags(r0 + b * R::kBlockBytes, lane % 4, lo);
      R::frags(r0 + 8 * St::kRawPitch + b * R::kBlockBytes, lane % 4, hi);
#pragma unroll
      for (int s = 0; s < 2; s++) {
        frag[2 * b + s][0] = lo[s][0];
        frag[2 * b + s][1] = hi[s][0];
        frag[2 * b + s][2] = lo[s][1];
        frag[2 * b + s][3] = hi[s][1];
      }
    }
    const uint32_t act = smem_addr(sa) + u * (N * 128);
    uint64_t desc[4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
      desc[j] = wgmma_desc_sw128(act + 32 * j);
      keep_reg(desc[j]);  // computed before the fence, not between the wgmmas
    }
    wgmma_fence();
#pragma unroll
    for (int j = 0; j < 4; j++) Wgmma<N>::run(acc, frag[j], desc[j]);
    wgmma_commit();
    wgmma_wait<0>();
  };

#pragma unroll
  for (int s = 0; s < S - 1; s++) {
    if (kb + s < ke) load(kb + s);
    cp_async_commit();
  }
  for (int st = kb; st < ke; st++) {
    cp_async_wait<S - 2>();  // stage st has landed (this thread's copies)
    fence_proxy_async();
    __syncthreads();  // ... for every thread, and both warpgroups are done with stage st - 1, whose slot is refilled
    if (st + S - 1 < ke) load(st + S - 1);
    cp_async_commit();
#pragma unroll
    for (int u = 0; u < KS / 64; u++) step(st, u);
  }
#pragma unroll
  for (int i = 0; i < N / 2; i++) keep_reg(acc[i]);

  // Accumulator i of a thread: row 16 warp + lane / 4 (+8 for i % 4 >= 2), token 8 (i / 4) + 2 (lane % 4) + i % 2.
  const int64_t r_lo = m0 + wg * 64 + warp * 16 + lane / 4;
#pragma unroll
  for (int i = 0; i < N / 2; i++) {
    const int64_t r = r_lo + 8 * ((i / 2) % 2);
    const int t = n0 + 8 * (i / 4) + 2 * (lane % 4) + i % 2;
    if (t < tokens && r < rows) {
      float *dst = y + int64_t(t) * rows + r;
      if (atomic) atomicAdd(dst, acc[i]);
      else *dst = acc[i];
    }
  }
#endif
}

template <class R, int N, int KS, int S>
cudaError_t run(const uint8_t *w, const __half *xh, float *y, int64_t rows, int64_t cols, int64_t tokens, cudaStream_t stream) {
  auto kernel = wgmma_kernel<R, N, KS, S>;
  constexpr int smem = smem_bytes<N, KS, S>(R::kBlockBytes);
  DeviceFit fit;
  if (cudaError_t e = fit_kernel(reinterpret_cast<const void *>(kernel), kThreads, smem, &fit)) return e;
  if (fit.blocks_per_sm < 1) return cudaErrorNotSupported;
  const int64_t row_tiles = (rows + kRowsPerBlock - 1) / kRowsPerBlock, token_tiles = (tokens + N - 1) / N, stages = cols / KS;
  if (row_tiles > 0x7fffffff || token_tiles > 65535) return cudaErrorInvalidValue;
  // Split K (partial sums added atomically) where that fills the GPU's waves of resident blocks markedly better:
  // too few tiles (few rows, few tokens), or a last wave mostly empty (176 tiles on 132 resident blocks run as 2 waves
  // at 67%; split 3 ways, 528 run as 4 full ones). Waves already 75% full keep whole K: the atomic adds would cost more.
  const int64_t resident = int64_t(fit.sms) * fit.blocks_per_sm, tiles = row_tiles * token_tiles;
  const int64_t whole_waves = (tiles + resident - 1) / resident;
  const bool keep_k = tiles >= resident && double(tiles) >= 0.75 * double(whole_waves * resident);
  int64_t split = 1;
  double best = 0;
  for (int64_t s = 1; s <= (keep_k ? 1 : std::min<int64_t>(stages, 64)); s++) {
    const int64_t blocks = tiles * s, waves = (blocks + resident - 1) / resident;
    const double fill = double(blocks) / double(waves * resident);
    if (fill > best + 0.05) best = fill, split = s;
  }
  const int64_t per_split = split > 1 ? (stages + split - 1) / split : stages;
  const int64_t splits = (stages + per_split - 1) / per_split;
  if (splits > 1) {
    if (cudaError_t e = cudaMemsetAsync(y, 0, size_t(tokens * rows) * sizeof(float), stream)) return e;
  }
  kernel<<<dim3(unsigned(row_tiles), unsigned(token_tiles), unsigned(splits)), kThreads, size_t(smem), stream>>>(
      w, uint64_t(cols / 32) * R::kBlockBytes, xh, y, rows, int(cols), int(tokens), int(per_split), splits > 1);
  return cudaGetLastError();
}

template <class R>
cudaError_t run_tokens(const uint8_t *w, const __half *xh, float *y, int64_t rows, int64_t cols, int64_t tokens, cudaStream_t stream) {
  // Few tokens: the product streams the weights (memory-bound), so 256-column stages with 16-byte copies and
  // tiles as narrow as the batch. More tokens: 128-column stages (64 for 256 tokens), so that the ring's activation
  // tiles fit in shared memory.
  if (tokens <= 16) return run<R, 16, 256, 4>(w, xh, y, rows, cols, tokens, stream);
  if (tokens <= 32) return run<R, 32, 256, 4>(w, xh, y, rows, cols, tokens, stream);
  if (tokens <= 64) return run<R, 64, 128, 4>(w, xh, y, rows, cols, tokens, stream);
  int device = 0, sms = 0;
  if (cudaError_t e = cudaGetDevice(&device)) return e;
  if (cudaError_t e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device)) return e;
  // 256-token tiles halve the weight decoding per token but need enough of them for every multiprocessor.
  const int64_t row_tiles = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  if (tokens > 128 && row_tiles * ((tokens + 255) / 256) >= sms) return run<R, 256, 64, 4>(w, xh, y, rows, cols, tokens, stream);
  return run<R, 128, 128, 4>(w, xh, y, rows, cols, tokens, stream);
}

}  // namespace

bool matmul_wgmma_available() {
#ifdef QINFER_CUDA_HAS_WGMMA
  // QINFER_CUDA_WGMMA=0 takes the mma.sync kernels instead (to compare the two in one build).
  static const bool env_on = [] {
    const char *e = std::getenv("QINFER_CUDA_WGMMA");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  int device = 0, major = 0, minor = 0;
  return env_on && cudaGetDevice(&device) == cudaSuccess && cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
         cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess && major == 9 && minor == 0;
#else
  return false;
#endif
}

cudaError_t launch_matmul_wgmma(int32_t type, const uint8_t *w, const __half *xh, float *y, int64_t rows, int64_t cols, int64_t tokens,
                                cudaStream_t stream) {
  if (cols % 256) return cudaErrorNotSupported;
  if (type == QINFER_TYPE_Q4_0) return run_tokens<RawQ4_0>(w, xh, y, rows, cols, tokens, stream);
  if (type == QINFER_TYPE_Q8_0) return run_tokens<RawQ8_0>(w, xh, y, rows, cols, tokens, stream);
  return cudaErrorNotSupported;
}

}  // namespace qinfer::cuda
