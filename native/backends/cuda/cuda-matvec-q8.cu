// Decode-time products (1 to 4 tokens) of Q4_0 and Q8_0 weights at memory speed: activations rounded to
// 8 bits exactly as the CPU's Q8_0 (so results equal its integer block dots), weights streamed with
// coalesced 16-byte asynchronous copies into per-warp shared buffers, and integer dots by dp4a. Optionally fused
// with the op before (RMSNorm or SiLU*mul of the activations, computed by every block while it rounds them) and
// the residual add after (y and x + y written by the warp that sums each row); launched as a dependent launch so
// the first weight copies are in flight before the previous kernel has finished.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda-matmul-paths.h"
#include "cuda-pdl.cuh"
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

// The same blocks one row per unit, 5 units in flight per warp (the same 6.9 KB ring): every warp busy even when
// rows are fewer than twice the grid's warps, and more bytes in flight per warp.
struct PairQ4_0R1 : PairQ4_0 {
  static constexpr int kRows = 1, kStages = 6;
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
// round half away from zero) with 8 lanes of a warp, 4 values each (f, zeros for `valid` == false blocks,
// whose lanes only take part in the shuffles). Writes half `half` of a pair record.
__device__ __forceinline__ void quantize_block(float4 f, XPair *pair, int half, bool valid) {
  const int sub = threadIdx.x % 8;
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

// What the activations are: x as given, RMSNorm(x) * a2 (a2 may be null), or silu(x) * a2, the last two as
// the RMS_NORM and SILU_MUL ops compute them (and written to pre_out by block 0 when pre_out is set).
enum Pre { kPlain = 0, kRmsNorm = 1, kSiluMul = 2 };

struct Args {
  const uint8_t *w;
  uint64_t row_bytes;
  const float *x, *a2;
  float *pre_out;
  float eps;
  float *y;
  const float *res;  // with kAdd: sum = res + y
  float *sum;
  int64_t rows;
  int cols, tokens;
};

// Each warp owns a run of consecutive rows and walks them in units of kRows rows x 32 pairs (one pair
// per lane and row), kStages units in flight; the block first rounds every token's activations into
// shared memory.
template <class P, int NT, int kPre, bool kAdd>
__global__ void __launch_bounds__(NT <= 2 ? 1024 : 512) matvec_q8_kernel(const Args a) {
  const uint8_t *__restrict__ w = a.w;
  const uint64_t row_bytes = a.row_bytes;
  const float *__restrict__ x = a.x;
  float *__restrict__ y = a.y;
  const int64_t rows = a.rows;
  const int cols = a.cols, tokens = a.tokens;
  constexpr int kChunkPairs = kWarp;
  constexpr int kPairBytes = P::kWords * 4, kChunkBytes = kChunkPairs * kPairBytes, kStages = P::kStages, kRows = P::kRows;
  constexpr int kUnitBytes = kRows * kChunkBytes;
  extern __shared__ int4 smem[];
  const int ppr = cols / 64, chunks = (ppr + kChunkPairs - 1) / kChunkPairs;
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
      const int n16 = min(kChunkPairs, ppr - issue_c * kChunkPairs) * kPairBytes / 16;
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

  // Everything above reads only the weights; from here on, the previous kernel's results.
  pdl_wait();
  pdl_trigger();
  __shared__ float inv_rms[NT];
  if (kPre == kRmsNorm) {
    __shared__ float partial[32][NT];
    float ss[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) {
      ss[t] = 0.f;
      if (t < tokens)
        for (int i = threadIdx.x; i < cols / 4; i += blockDim.x) {
          const float4 f = reinterpret_cast<const float4 *>(x + int64_t(t) * cols)[i];
          ss[t] = fmaf(f.x, f.x, fmaf(f.y, f.y, fmaf(f.z, f.z, fmaf(f.w, f.w, ss[t]))));
        }
      for (int off = kWarp / 2; off > 0; off /= 2) ss[t] += __shfl_xor_sync(0xffffffffu, ss[t], off);
      if (lane == 0) partial[warp][t] = ss[t];
    }
    __syncthreads();
    if (threadIdx.x < NT) {
      float s = 0.f;
      for (int k = 0; k < int(blockDim.x) / kWarp; k++) s += partial[k][threadIdx.x];
      inv_rms[threadIdx.x] = 1.0f / sqrtf(s / float(cols) + a.eps);
    }
    __syncthreads();
  }
  const bool write_pre = kPre != kPlain && a.pre_out && blockIdx.x == 0;

  // Four blocks per warp per step; the loop bound is uniform across the warp for the shuffles.
  const int nb = cols / 32, warps = blockDim.x / kWarp;
  for (int b0 = warp * 4; b0 < tokens * nb; b0 += warps * 4) {
    const int b = b0 + lane / 8, t = b / nb, blk = b % nb;
    const bool valid = b < tokens * nb;
    const int64_t at = int64_t(t) * cols + blk * 32 + 4 * (lane % 8);
    float4 f = valid ? *reinterpret_cast<const float4 *>(x + at) : make_float4(0.f, 0.f, 0.f, 0.f);
    if (kPre == kRmsNorm && valid) {
      const float s = inv_rms[t];
      if (a.a2) {
        const float4 g = *reinterpret_cast<const float4 *>(a.a2 + at - int64_t(t) * cols);
        f = make_float4(f.x * s * g.x, f.y * s * g.y, f.z * s * g.z, f.w * s * g.w);
      } else {
        f = make_float4(f.x * s, f.y * s, f.z * s, f.w * s);
      }
    } else if (kPre == kSiluMul && valid) {
      const float4 u = *reinterpret_cast<const float4 *>(a.a2 + at);
      f = make_float4(f.x / (1.0f + expf(-f.x)) * u.x, f.y / (1.0f + expf(-f.y)) * u.y, f.z / (1.0f + expf(-f.z)) * u.z,
                      f.w / (1.0f + expf(-f.w)) * u.w);
    }
    if (write_pre && valid) *reinterpret_cast<float4 *>(a.pre_out + at) = f;
    quantize_block(f, xs + t * ppr + blk / 2, blk & 1, valid);
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
    const int p = c * kChunkPairs + lane;
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
          if (lane == 0 && t < tokens && row + rr < r1) {
            const int64_t o = int64_t(t) * rows + row + rr;
            y[o] = s;
            if (kAdd) a.sum[o] = a.res[o] + s;
          }
          acc[rr][t] = 0.f;
        }
      c = 0;
      row += kRows;
    }
  }
}

template <class P, int NT, int kPre, bool kAdd>
cudaError_t launch_for(const Args &args, cudaStream_t stream) {
  auto kernel = matvec_q8_kernel<P, NT, kPre, kAdd>;
  const int64_t rows = args.rows, cols = args.cols;
  int device = 0, smem_max = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  // Static shared memory of the RMSNorm variant (partial sums) comes off the top.
  const int64_t static_bytes = 32 * NT * 4 + NT * 4 + 64;
  const int64_t x_bytes = NT * (cols / 64) * int64_t(sizeof(XPair)),
                warp_bytes = int64_t(P::kStages) * P::kRows * kWarp * P::kWords * 4;
  // Up to 32 warps for one or two tokens (more tokens hold more accumulators: fewer, fatter threads), fewer when
  // rows are few so that the blocks still spread over every multiprocessor.
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  const int64_t spread = std::max<int64_t>(4, (rows + sms - 1) / std::max(sms, 1));
  // Blocks of 16 warps for Q4_0 and for Q8_0 matrices under 32 MiB, else 32 (measured on the H200: the smaller blocks
  // gain 3% on whole TinyLlama-shaped decode steps and up to 6 points of the copy rate on the Q4_0 shapes, and lose
  // 5-10 on Q8_0's 14336 x 4096 and 4096 x 14336). QINFER_CUDA_MV_WARPS=4..32 overrides (for measurements).
  static const int64_t forced = [] {
    const char *e = std::getenv("QINFER_CUDA_MV_WARPS");
    const int v = e ? std::atoi(e) : 0;
    return v >= 4 && v <= 32 ? v : 0;
  }();
  const bool small_blocks = P::kWords == 9 || int64_t(rows) * int64_t(args.row_bytes) < (int64_t(32) << 20);
  const int64_t cap = forced ? forced : small_blocks ? 16 : 32;
  const int64_t warps = std::min<int64_t>({NT <= 2 ? cap : std::min<int64_t>(cap, 16), spread, (smem_max - static_bytes - x_bytes) / warp_bytes});
  if (warps < 4) return cudaErrorNotSupported;
  const int threads = int(warps) * kWarp;
  const int smem = int(x_bytes + warps * warp_bytes);
  DeviceFit fit;
  if (cudaError_t e = fit_kernel(reinterpret_cast<const void *>(kernel), threads, smem, &fit)) return e;
  const int per_sm = fit.blocks_per_sm;
  if (per_sm < 1) return cudaErrorNotSupported;
  // A full wave of blocks (fewer when rows are few), each warp holding its own rows.
  const int64_t blocks = std::min<int64_t>(int64_t(sms) * per_sm, (rows + warps - 1) / warps);
  return launch_pdl(kernel, dim3(unsigned(blocks)), dim3(unsigned(threads)), size_t(smem), stream, args);
}

template <class P, int NT>
cudaError_t launch_fused(const Args &args, int pre, bool add, cudaStream_t stream) {
  if (pre == kRmsNorm) return add ? launch_for<P, NT, kRmsNorm, true>(args, stream) : launch_for<P, NT, kRmsNorm, false>(args, stream);
  if (pre == kSiluMul) return add ? launch_for<P, NT, kSiluMul, true>(args, stream) : launch_for<P, NT, kSiluMul, false>(args, stream);
  return add ? launch_for<P, NT, kPlain, true>(args, stream) : launch_for<P, NT, kPlain, false>(args, stream);
}

template <class P>
cudaError_t launch_tokens(const Args &args, int pre, bool add, cudaStream_t stream) {
  if (args.tokens == 1) return launch_fused<P, 1>(args, pre, add, stream);
  if (args.tokens == 2) return launch_fused<P, 2>(args, pre, add, stream);
  return launch_fused<P, 4>(args, pre, add, stream);
}

}  // namespace

cudaError_t launch_matvec_q8(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                             cudaStream_t stream, const MatvecFusion *fuse) {
  const MatvecFusion none{};
  const MatvecFusion &f = fuse ? *fuse : none;
  auto misaligned = [](const void *p) { return reinterpret_cast<uintptr_t>(p) % 16 != 0; };
  if (tokens < 1 || tokens > kMatvecQ8MaxTokens || cols % 256 || cols > (int64_t(1) << 24) || misaligned(w) || misaligned(x) ||
      (f.pre != kPlain && f.a2 && misaligned(f.a2)) || (f.pre != kPlain && f.pre_out && misaligned(f.pre_out)) ||
      (f.pre == kSiluMul && !f.a2) || f.pre < 0 || f.pre > kSiluMul || (f.sum && !f.res))
    return cudaErrorNotSupported;
  const int shift = type == QINFER_TYPE_Q4_0 ? 0 : type == QINFER_TYPE_Q8_0 ? 1 : -1;
  if (shift < 0) return cudaErrorNotSupported;
  const uint64_t row_bytes = uint64_t(cols / 256) * ((shift ? PairQ8_0::kWords : PairQ4_0::kWords) * 4 * 4);
  const Args args{w, row_bytes, x, f.a2, f.pre_out, f.eps, y, f.res, f.sum, rows, int(cols), int(tokens)};
  if (type == QINFER_TYPE_Q4_0) {
    // Two rows per unit (one activation load serves both) unless that leaves each warp of a full grid 3 units or
    // fewer: short runs do better one row per unit, 5 units in flight (measured on the H200 at the Llama shapes:
    // 4096 x 4096, 2048 x 5632, 2048 x 2048 one row; 14336 x 4096, 4096 x 14336, 32000 x 2048 two).
    // QINFER_CUDA_Q4_ROWS=1 or 2 forces one (for comparisons).
    static const int forced = [] {
      const char *e = std::getenv("QINFER_CUDA_Q4_ROWS");
      return e && (std::strcmp(e, "1") == 0 || std::strcmp(e, "2") == 0) ? e[0] - '0' : 0;
    }();
    int device = 0, sms = 1;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    const int64_t warps = int64_t(sms) * 32, chunks = (cols / 64 + kWarp - 1) / kWarp, groups = (rows + 1) / 2;
    const bool one_row = forced ? forced == 1 : (groups + warps - 1) / warps * chunks <= 3;
    return one_row ? launch_tokens<PairQ4_0R1>(args, f.pre, f.sum != nullptr, stream)
                   : launch_tokens<PairQ4_0>(args, f.pre, f.sum != nullptr, stream);
  }
  return launch_tokens<PairQ8_0>(args, f.pre, f.sum != nullptr, stream);
}

}  // namespace qinfer::cuda
