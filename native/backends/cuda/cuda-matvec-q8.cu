// Decode-time products (1 to 4 tokens) of Q4_0 and Q8_0 weights at memory speed: activations rounded to
// 8 bits exactly as the CPU's Q8_0 (so results equal its integer block dots), weights streamed with
// coalesced 16-byte asynchronous copies into per-warp shared buffers, and integer dots by dp4a.
#include <algorithm>

#include "cuda-matmul-paths.h"
#include "cuda-ptx.cuh"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {
namespace {

constexpr int kWarp = 32;

// The activations of one 64-column pair of blocks: 64 int8, then d0, sum0, d1, sum1 (sums as int bits).
// 80 bytes, so lanes reading consecutive pairs with 16-byte loads hit distinct banks.
struct XPair {
  int4 q[4];
  float4 ds;
};

__device__ __forceinline__ float half_lo(uint32_t w) { return __half2float(__ushort_as_half(uint16_t(w & 0xffff))); }
__device__ __forceinline__ float half_hi(uint32_t w) { return __half2float(__ushort_as_half(uint16_t(w >> 16))); }
__device__ __forceinline__ int xw(const XPair &x, int i) {
  const int4 v = x.q[i >> 2];
  return (i & 3) == 0 ? v.x : (i & 3) == 1 ? v.y : (i & 3) == 2 ? v.z : v.w;
}

// Two Q4_0 blocks (36 bytes, 9 words): d0 | qs0[0..1], qs0[2..13], qs0[14..15] | d1, qs1[0..15].
struct PairQ4_0 {
  static constexpr int kWords = 9;
  // Two rows per unit, so each activation load serves two rows' weights; units per warp in flight
  // (one being summed): ~4.5 KB per warp.
  static constexpr int kRows = 2, kStages = 3;
  __device__ static float dot(const uint32_t (&w)[kWords], const XPair &x) {
    int s0 = 0, s1 = 0;
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const uint32_t q0 = __funnelshift_r(w[i], w[i + 1], 16), q1 = w[5 + i];
      // Byte j holds element j (low nibble) and j + 16 (high nibble): words i and 4 + i of the activations.
      s0 = __dp4a(int(q0 & 0x0f0f0f0fu), xw(x, i), s0);
      s0 = __dp4a(int((q0 >> 4) & 0x0f0f0f0fu), xw(x, 4 + i), s0);
      s1 = __dp4a(int(q1 & 0x0f0f0f0fu), xw(x, 8 + i), s1);
      s1 = __dp4a(int((q1 >> 4) & 0x0f0f0f0fu), xw(x, 12 + i), s1);
    }
    // sum (q - 8) a = sum q a - 8 sum a: the CPU's integer dot, then its float products in its order.
    const int t0 = s0 - 8 * __float_as_int(x.ds.y), t1 = s1 - 8 * __float_as_int(x.ds.w);
    return float(t0) * half_lo(w[0]) * x.ds.x + float(t1) * half_hi(w[4]) * x.ds.z;
  }
};

// Two Q8_0 blocks (68 bytes, 17 words): d0 | qs0[0..1], ..., qs0[30..31] | d1, qs1[0..31].
struct PairQ8_0 {
  static constexpr int kWords = 17;
  static constexpr int kRows = 1, kStages = 3;
  __device__ static float dot(const uint32_t (&w)[kWords], const XPair &x) {
    int s0 = 0, s1 = 0;
#pragma unroll
    for (int i = 0; i < 8; i++) {
      s0 = __dp4a(int(__funnelshift_r(w[i], w[i + 1], 16)), xw(x, i), s0);
      s1 = __dp4a(int(w[9 + i]), xw(x, 8 + i), s1);
    }
    return float(s0) * half_lo(w[0]) * x.ds.x + float(s1) * half_hi(w[8]) * x.ds.z;
  }
};

// Rounds 32 activations to 8 bits as the CPU's quantize_q8_0 does (scale amax / 127 stored as half,
// round half away from zero) with 8 lanes of a warp, 4 values each; the lanes of `valid` == false
// blocks only take part in the shuffles. Writes half `half` of a pair record.
__device__ __forceinline__ void quantize_block(const float *x, XPair *pair, int half, bool valid) {
  const int sub = threadIdx.x % 8;
  const float4 f = valid ? *reinterpret_cast<const float4 *>(x + 4 * sub) : make_float4(0.f, 0.f, 0.f, 0.f);
  float amax = fmaxf(fmaxf(fabsf(f.x), fabsf(f.y)), fmaxf(fabsf(f.z), fabsf(f.w)));
#pragma unroll
  for (int off = 4; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const float d = amax / 127.0f, id = d != 0.f ? 1.0f / d : 0.f;
  const int e0 = int(roundf(f.x * id)), e1 = int(roundf(f.y * id)), e2 = int(roundf(f.z * id)), e3 = int(roundf(f.w * id));
  int sum = e0 + e1 + e2 + e3;
#pragma unroll
  for (int off = 4; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (!valid) return;
  const uint32_t word = uint32_t(uint8_t(e0)) | uint32_t(uint8_t(e1)) << 8 | uint32_t(uint8_t(e2)) << 16 | uint32_t(uint8_t(e3)) << 24;
  reinterpret_cast<uint32_t *>(pair->q)[8 * half + sub] = word;
  if (sub == 0) {
    float *ds = reinterpret_cast<float *>(&pair->ds) + 2 * half;
    ds[0] = __half2float(__float2half_rn(d));
    ds[1] = __int_as_float(sum);
  }
}

// Each warp owns a run of consecutive rows and walks them in units of kRows rows x 32 pairs (one pair
// per lane and row), kStages units in flight; the block first rounds every token's activations into
// shared memory.
template <class P, int NT>
__global__ void __launch_bounds__(NT <= 2 ? 1024 : 512) matvec_q8_kernel(const uint8_t *__restrict__ w, uint64_t row_bytes, const float *__restrict__ x,
                                                         float *__restrict__ y, int64_t rows, int cols, int tokens) {
  constexpr int kPairBytes = P::kWords * 4, kChunkBytes = kWarp * kPairBytes, kStages = P::kStages, kRows = P::kRows;
  constexpr int kUnitBytes = kRows * kChunkBytes;
  extern __shared__ int4 smem[];
  const int ppr = cols / 64, chunks = (ppr + kWarp - 1) / kWarp;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  XPair *xs = reinterpret_cast<XPair *>(smem);
  uint8_t *wbuf = reinterpret_cast<uint8_t *>(xs + NT * ppr) + warp * kStages * kUnitBytes;
  // Rows split as evenly as integers allow over every warp of the grid.
  const int64_t n_warps = int64_t(gridDim.x) * (blockDim.x / kWarp), gw = int64_t(blockIdx.x) * (blockDim.x / kWarp) + warp;
  const int64_t r0 = gw * rows / n_warps, r1 = (gw + 1) * rows / n_warps;
  const int64_t n_units = (r1 - r0 + kRows - 1) / kRows * chunks;

  // Units (row group, chunk) in order; the issuing side runs kStages - 1 units ahead of the summing side.
  // A last group past r1 (odd rows) copies and sums only its real rows.
  int64_t issue_row = r0;
  int issue_c = 0;
  auto issue = [&](int64_t u) {
    if (u < n_units) {
      const int n16 = min(kWarp, ppr - issue_c * kWarp) * kPairBytes / 16;
#pragma unroll
      for (int rr = 0; rr < kRows; rr++) {
        if (issue_row + rr >= r1) break;
        const uint8_t *src = w + uint64_t(issue_row + rr) * row_bytes + uint64_t(issue_c) * kChunkBytes;
        uint8_t *dst = wbuf + (u % kStages) * kUnitBytes + rr * kChunkBytes;
        for (int i = lane; i < n16; i += kWarp) cp_async16(dst + 16 * i, src + 16 * i);
      }
      if (++issue_c == chunks) issue_c = 0, issue_row += kRows;
    }
    cp_async_commit();  // an empty group keeps the wait counts uniform
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; s++) issue(s);

  // Four blocks per warp per step; the loop bound is uniform across the warp for the shuffles.
  const int nb = cols / 32, warps = blockDim.x / kWarp;
  for (int b0 = warp * 4; b0 < tokens * nb; b0 += warps * 4) {
    const int b = b0 + lane / 8, t = b / nb, blk = b % nb;
    const bool valid = b < tokens * nb;
    quantize_block(x + int64_t(t) * cols + blk * 32, xs + t * ppr + blk / 2, blk & 1, valid);
  }
  __syncthreads();

  float acc[kRows][NT];
#pragma unroll
  for (int rr = 0; rr < kRows; rr++)
#pragma unroll
    for (int t = 0; t < NT; t++) acc[rr][t] = 0.f;
  int64_t row = r0;
  int c = 0;
  for (int64_t u = 0; u < n_units; u++) {
    issue(u + kStages - 1);
    cp_async_wait<kStages - 1>();
    __syncwarp();
    const int p = c * kWarp + lane;
    if (p < ppr) {
      uint32_t wv[kRows][P::kWords];
#pragma unroll
      for (int rr = 0; rr < kRows; rr++) {
        const uint32_t *src = reinterpret_cast<const uint32_t *>(wbuf + (u % kStages) * kUnitBytes + rr * kChunkBytes) + lane * P::kWords;
#pragma unroll
        for (int i = 0; i < P::kWords; i++) wv[rr][i] = src[i];  // a missing last row reads stale words: never stored
      }
#pragma unroll
      for (int t = 0; t < NT; t++)
        if (t < tokens) {
          const XPair xp = xs[t * ppr + p];
#pragma unroll
          for (int rr = 0; rr < kRows; rr++) acc[rr][t] += P::dot(wv[rr], xp);
        }
    }
    __syncwarp();  // the buffer is refilled by the next iteration's issue
    if (++c == chunks) {
#pragma unroll
      for (int rr = 0; rr < kRows; rr++)
#pragma unroll
        for (int t = 0; t < NT; t++) {
          float s = acc[rr][t];
          for (int off = kWarp / 2; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
          if (lane == 0 && t < tokens && row + rr < r1) y[int64_t(t) * rows + row + rr] = s;
          acc[rr][t] = 0.f;
        }
      c = 0;
      row += kRows;
    }
  }
}

template <class P, int NT>
cudaError_t launch_for(const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens, cudaStream_t stream) {
  auto kernel = matvec_q8_kernel<P, NT>;
  int device = 0, smem_max = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  const int64_t x_bytes = NT * (cols / 64) * int64_t(sizeof(XPair)), warp_bytes = int64_t(P::kStages) * P::kRows * kWarp * P::kWords * 4;
  // Up to 32 warps for one or two tokens (more tokens hold more accumulators: fewer, fatter threads), fewer when
  // rows are few so that the blocks still spread over every multiprocessor.
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  const int64_t spread = std::max<int64_t>(4, (rows + sms - 1) / std::max(sms, 1));
  const int64_t warps = std::min<int64_t>({NT <= 2 ? 32 : 16, spread, (smem_max - x_bytes) / warp_bytes});
  if (warps < 4) return cudaErrorNotSupported;
  const int threads = int(warps) * kWarp;
  const int smem = int(x_bytes + warps * warp_bytes);
  DeviceFit fit;
  if (cudaError_t e = fit_kernel(reinterpret_cast<const void *>(kernel), threads, smem, &fit)) return e;
  const int per_sm = fit.blocks_per_sm;
  // A full wave of blocks (fewer when rows are few), each warp holding its own rows.
  const int64_t blocks = std::min<int64_t>(int64_t(sms) * per_sm, (rows + warps - 1) / warps);
  kernel<<<unsigned(blocks), threads, size_t(smem), stream>>>(w, uint64_t(cols / 256) * (P::kWords * 4 * 4), x, y, rows, int(cols),
                                                                int(tokens));
  return cudaGetLastError();
}

template <class P>
cudaError_t launch_tokens(const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens, cudaStream_t stream) {
  if (tokens == 1) return launch_for<P, 1>(w, x, y, rows, cols, tokens, stream);
  if (tokens == 2) return launch_for<P, 2>(w, x, y, rows, cols, tokens, stream);
  return launch_for<P, 4>(w, x, y, rows, cols, tokens, stream);
}

}  // namespace

cudaError_t launch_matvec_q8(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                             cudaStream_t stream) {
  if (tokens < 1 || tokens > kMatvecQ8MaxTokens || cols % 256 || cols > (int64_t(1) << 24) || reinterpret_cast<uintptr_t>(w) % 16 ||
      reinterpret_cast<uintptr_t>(x) % 16)
    return cudaErrorNotSupported;
  if (type == QINFER_TYPE_Q4_0) return launch_tokens<PairQ4_0>(w, x, y, rows, cols, tokens, stream);
  if (type == QINFER_TYPE_Q8_0) return launch_tokens<PairQ8_0>(w, x, y, rows, cols, tokens, stream);
  return cudaErrorNotSupported;
}

}  // namespace qinfer::cuda
