// Row-wise operators of the forward pass on the GPU (RMSNorm, RoPE, softmax, SwiGLU, argmax) and causal
// grouped-query attention over the F32/F16/Q8_0 KV cache with an online softmax (split over blocks when decoding).
#include <algorithm>
#include <cmath>
#include <mutex>

#include "cuda-formats.cuh"
#include "cuda-kernels.h"
#include "cuda-pdl.cuh"
#include "cuda-rows.cuh"

namespace qinfer::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowThreads = 256;

// Sum over the block (blockDim.x == kRowThreads); every thread gets the result.
__device__ float block_sum(float v, float *scratch) {
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  __syncthreads();  // scratch may still be read by a previous call
  if (threadIdx.x % kWarp == 0) scratch[threadIdx.x / kWarp] = v;
  __syncthreads();
  float s = 0.f;
  for (int w = 0; w < kRowThreads / kWarp; w++) s += scratch[w];
  return s;
}

__device__ float block_max(float v, float *scratch) {
  for (int off = kWarp / 2; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  __syncthreads();
  if (threadIdx.x % kWarp == 0) scratch[threadIdx.x / kWarp] = v;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < kRowThreads / kWarp; w++) m = fmaxf(m, scratch[w]);
  return m;
}

__global__ void __launch_bounds__(kRowThreads) rms_norm_kernel(const float *x, const float *weight, float *y, int64_t n, float eps) {
  pdl_wait();
  pdl_trigger();
  __shared__ float scratch[kRowThreads / kWarp];
  const float *xr = x + int64_t(blockIdx.x) * n;
  float *yr = y + int64_t(blockIdx.x) * n;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) ss = fmaf(xr[i], xr[i], ss);
  const float s = 1.0f / sqrtf(block_sum(ss, scratch) / float(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) yr[i] = weight ? xr[i] * s * weight[i] : xr[i] * s;
}

__global__ void __launch_bounds__(kRowThreads) softmax_kernel(const float *x, float *y, int64_t n) {
  pdl_wait();
  pdl_trigger();
  __shared__ float scratch[kRowThreads / kWarp];
  const float *xr = x + int64_t(blockIdx.x) * n;
  float *yr = y + int64_t(blockIdx.x) * n;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) m = fmaxf(m, xr[i]);
  m = block_max(m, scratch);
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) sum += expf(xr[i] - m);
  const float inv = 1.0f / block_sum(sum, scratch);
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) yr[i] = expf(xr[i] - m) * inv;
}

__global__ void silu_mul_kernel(const float *gate, const float *up, float *out, int64_t n) {
  pdl_wait();
  pdl_trigger();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

// First index of the largest element, as the CPU picks it.
__global__ void __launch_bounds__(kRowThreads) argmax_kernel(const float *x, int32_t *out, int64_t n) {
  pdl_wait();
  pdl_trigger();
  __shared__ float sv[kRowThreads / kWarp];
  __shared__ int64_t si[kRowThreads / kWarp];
  const float *xr = x + int64_t(blockIdx.x) * n;
  float bv = -INFINITY;
  int64_t bi = n;
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads)
    if (bi == n || xr[i] > bv) bv = xr[i], bi = i;
  auto better = [](float v, int64_t i, float bv, int64_t bi) { return bi == -1 || (i != -1 && (v > bv || (v == bv && i < bi))); };
  if (bi == n) bi = -1;
  for (int off = kWarp / 2; off > 0; off /= 2) {
    const float v = __shfl_xor_sync(0xffffffffu, bv, off);
    const int64_t i = __shfl_xor_sync(0xffffffffu, bi, off);
    if (better(v, i, bv, bi)) bv = v, bi = i;
  }
  if (threadIdx.x % kWarp == 0) sv[threadIdx.x / kWarp] = bv, si[threadIdx.x / kWarp] = bi;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kRowThreads / kWarp; w++)
      if (better(sv[w], si[w], bv, bi)) bv = sv[w], bi = si[w];
    out[blockIdx.x] = int32_t(bi < 0 ? 0 : bi);
  }
}

// One block per (token, head): each thread rotates pairs; dimensions past n_dims are copied.
__global__ void rope_kernel(const float *x, const int32_t *positions, const float *freq_factors, float *y, int64_t n_heads, int64_t head_dim,
                            int64_t n_dims, float theta_scale, RopeArgs r) {
  pdl_wait();
  pdl_trigger();
  const int64_t t = blockIdx.x / n_heads;
  rope_row(x + int64_t(blockIdx.x) * head_dim, y + int64_t(blockIdx.x) * head_dim, positions[t], freq_factors, head_dim, n_dims, theta_scale, r);
}

struct KvF32 {
  __device__ static float at(const uint8_t *row, int d) { return reinterpret_cast<const float *>(row)[d]; }
};
struct KvF16 {
  __device__ static float at(const uint8_t *row, int d) { return half_f(reinterpret_cast<const uint16_t *>(row)[d]); }
};
struct KvQ8_0 {
  __device__ static float at(const uint8_t *row, int d) {
    const uint8_t *b = row + (d / 32) * 34;
    return half_f(ld16(b)) * float(reinterpret_cast<const int8_t *>(b + 2)[d % 32]);
  }
};

constexpr int kAttnWarps = 4;
// Up to this many query tokens (decode steps, a few sequences) attention runs here; more go to the prefill kernel.
constexpr int64_t kPrefillMinTokens = 8;
constexpr int kSplitWarps = 8;
constexpr int kMaxHeadDim = 256;
constexpr int kPerLane = kMaxHeadDim / kWarp;

struct AttnArgs {
  const float *q;
  const uint8_t *k, *v;
  const int32_t *n_kv;
  float *out;
  int n_heads, n_kv_heads, head_dim;
  int64_t head_stride;
  uint64_t row_bytes;
  float scale;
  // Split over gridDim.z blocks (flash-decoding): each block's softmax state goes to partials
  // [token][head][split][2 + head_dim] and the last block of a (token, head) to finish merges them in split order.
  float *partials;
  unsigned *counters;  // [token][head], zero between launches (the merging block resets its own)
};

// One block per (query head, token, split of the visible cache positions); each warp walks every W-th position of
// the block's range with an online softmax, and the warps' partial results are merged at the end.
template <class Kv, int W>
__global__ void __launch_bounds__(W *kWarp) attention_kernel(const AttnArgs a) {
  pdl_wait();
  pdl_trigger();
  __shared__ float sm_m[W], sm_l[W], sm_acc[W][kMaxHeadDim];
  __shared__ bool last;
  const int h = blockIdx.x, warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, head_dim = a.head_dim;
  const int64_t t = blockIdx.y;
  const int kvh = h / (a.n_heads / a.n_kv_heads);
  int64_t count = a.n_kv[t];
  count = count < 0 ? 0 : (count > a.head_stride ? a.head_stride : count);
  const int64_t per = (count + gridDim.z - 1) / gridDim.z, p0 = per * blockIdx.z, p1 = p0 + per < count ? p0 + per : count;
  const float *qh = a.q + (t * a.n_heads + h) * head_dim;
  const uint64_t head_offset = uint64_t(kvh) * uint64_t(a.head_stride) * a.row_bytes;
  float qv[kPerLane], acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; i++) {
    const int d = lane + kWarp * i;
    qv[i] = d < head_dim ? qh[d] : 0.f;
    acc[i] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  for (int64_t p = p0 + warp; p < p1; p += W) {
    const uint8_t *kr = a.k + head_offset + uint64_t(p) * a.row_bytes, *vr = a.v + head_offset + uint64_t(p) * a.row_bytes;
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < kPerLane; i++) {
      const int d = lane + kWarp * i;
      if (d < head_dim) s = fmaf(qv[i], Kv::at(kr, d), s);
    }
    for (int off = kWarp / 2; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    s *= a.scale;
    const float m_new = fmaxf(m, s), corr = expf(m - m_new), e = expf(s - m_new);
    l = l * corr + e;
#pragma unroll
    for (int i = 0; i < kPerLane; i++) {
      const int d = lane + kWarp * i;
      if (d < head_dim) acc[i] = acc[i] * corr + e * Kv::at(vr, d);
    }
    m = m_new;
  }
  if (lane == 0) sm_m[warp] = m, sm_l[warp] = l;
#pragma unroll
  for (int i = 0; i < kPerLane; i++)
    if (lane + kWarp * i < head_dim) sm_acc[warp][lane + kWarp * i] = acc[i];
  __syncthreads();
  float mx = -INFINITY;
  for (int w = 0; w < W; w++) mx = fmaxf(mx, sm_m[w]);
  float den = 0.f;
  for (int w = 0; w < W; w++)
    if (sm_l[w] > 0.f) den += sm_l[w] * expf(sm_m[w] - mx);
  float *o = a.out + (t * a.n_heads + h) * head_dim;
  if (gridDim.z == 1) {
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
      float num = 0.f;
      for (int w = 0; w < W; w++)
        if (sm_l[w] > 0.f) num += sm_acc[w][d] * expf(sm_m[w] - mx);
      o[d] = den > 0.f ? num / den : 0.f;
    }
    return;
  }
  // This block's state (max, denominator, numerators), then the merge by the last block of (token, head) to finish.
  const int64_t th = t * a.n_heads + h, rec = 2 + head_dim;
  float *part = a.partials + (th * gridDim.z + blockIdx.z) * rec;
  if (threadIdx.x == 0) part[0] = mx, part[1] = den;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float num = 0.f;
    for (int w = 0; w < W; w++)
      if (sm_l[w] > 0.f) num += sm_acc[w][d] * expf(sm_m[w] - mx);
    part[2 + d] = num;
  }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(&a.counters[th], 1u) == gridDim.z - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  const float *all = a.partials + th * gridDim.z * rec;
  float gm = -INFINITY;
  for (unsigned z = 0; z < gridDim.z; z++)
    if (__ldcg(all + z * rec + 1) > 0.f) gm = fmaxf(gm, __ldcg(all + z * rec));
  float gden = 0.f;
  for (unsigned z = 0; z < gridDim.z; z++) {
    const float lz = __ldcg(all + z * rec + 1);
    if (lz > 0.f) gden += lz * expf(__ldcg(all + z * rec) - gm);
  }
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float num = 0.f;
    for (unsigned z = 0; z < gridDim.z; z++) {
      const float lz = __ldcg(all + z * rec + 1);
      if (lz > 0.f) num += __ldcg(all + z * rec + 2 + d) * expf(__ldcg(all + z * rec) - gm);
    }
    o[d] = gden > 0.f ? num / gden : 0.f;
  }
  if (threadIdx.x == 0) a.counters[th] = 0;
}

// Scratch of the split attention, per device: allocated on first use outside a graph capture, never freed (a
// captured graph keeps its address).
constexpr int64_t kSplitScratchFloats = int64_t(4) << 20;
constexpr int64_t kSplitCounters = 1 << 16;
struct SplitScratch {
  float *partials = nullptr;
  unsigned *counters = nullptr;
};

SplitScratch split_scratch(cudaStream_t stream) {
  constexpr int kMaxDevices = 64;
  static std::mutex mu;
  static SplitScratch per_device[kMaxDevices];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return {};
  std::lock_guard<std::mutex> lock(mu);
  SplitScratch &s = per_device[device];
  if (s.partials) return s;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capturing) != cudaSuccess || capturing != cudaStreamCaptureStatusNone) return {};
  void *p = nullptr;
  if (cudaMalloc(&p, kSplitScratchFloats * 4 + kSplitCounters * 4) != cudaSuccess) {
    cudaGetLastError();
    return {};
  }
  if (cudaMemsetAsync(static_cast<uint8_t *>(p) + kSplitScratchFloats * 4, 0, kSplitCounters * 4, stream) != cudaSuccess) {
    cudaGetLastError();
    cudaFree(p);
    return {};
  }
  s.partials = static_cast<float *>(p);
  s.counters = reinterpret_cast<unsigned *>(static_cast<float *>(p) + kSplitScratchFloats);
  return s;
}

template <class Kv>
cudaError_t launch_attention_for(AttnArgs args, int64_t tokens, cudaStream_t stream) {
  // Decode (few tokens): the visible positions split over blocks so that every multiprocessor works on a long
  // cache; one split per 64 positions of the cache's capacity, at most 32.
  const int64_t splits = std::min<int64_t>(32, (args.head_stride + 63) / 64);
  const int64_t th = tokens * args.n_heads;
  if (splits > 1 && tokens <= 8 && th <= kSplitCounters && th * splits * (2 + args.head_dim) <= kSplitScratchFloats) {
    const SplitScratch s = split_scratch(stream);
    if (s.partials) {
      args.partials = s.partials;
      args.counters = s.counters;
      return launch_pdl(attention_kernel<Kv, kSplitWarps>, dim3(unsigned(args.n_heads), unsigned(tokens), unsigned(splits)), dim3(kSplitWarps * kWarp),
                        0, stream, args);
    }
  }
  if (tokens <= 8)  // few blocks: more warps each
    return launch_pdl(attention_kernel<Kv, kSplitWarps>, dim3(unsigned(args.n_heads), unsigned(tokens), 1), dim3(kSplitWarps * kWarp), 0, stream,
                      args);
  return launch_pdl(attention_kernel<Kv, kAttnWarps>, dim3(unsigned(args.n_heads), unsigned(tokens), 1), dim3(kAttnWarps * kWarp), 0, stream, args);
}

unsigned grid_of(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 65536 ? b : 65536);
}

}  // namespace

cudaError_t launch_rms_norm(const float *x, const float *weight, float *y, int64_t rows, int64_t n, float eps, cudaStream_t stream) {
  if (rows > 0x7fffffff) return cudaErrorInvalidValue;
  return launch_pdl(rms_norm_kernel, dim3(unsigned(rows)), dim3(kRowThreads), 0, stream, x, weight, y, n, eps);
}

cudaError_t launch_softmax(const float *x, float *y, int64_t rows, int64_t n, cudaStream_t stream) {
  if (rows > 0x7fffffff) return cudaErrorInvalidValue;
  return launch_pdl(softmax_kernel, dim3(unsigned(rows)), dim3(kRowThreads), 0, stream, x, y, n);
}

cudaError_t launch_silu_mul(const float *gate, const float *up, float *out, int64_t n, cudaStream_t stream) {
  return launch_pdl(silu_mul_kernel, dim3(grid_of(n, 256)), dim3(256), 0, stream, gate, up, out, n);
}

cudaError_t launch_argmax(const float *x, int32_t *out, int64_t rows, int64_t n, cudaStream_t stream) {
  if (rows > 0x7fffffff) return cudaErrorInvalidValue;
  return launch_pdl(argmax_kernel, dim3(unsigned(rows)), dim3(kRowThreads), 0, stream, x, out, n);
}

cudaError_t launch_rope(const float *x, const int32_t *positions, const float *freq_factors, float *y, int64_t tokens, int64_t n_heads,
                        int64_t head_dim, int64_t n_dims, const RopeArgs &args, cudaStream_t stream) {
  if (tokens * n_heads > 0x7fffffff) return cudaErrorInvalidValue;
  // The host's powf, as the CPU backend computes it.
  const float theta_scale = std::pow(args.freq_base, -2.0f / float(n_dims));
  return launch_pdl(rope_kernel, dim3(unsigned(tokens * n_heads)), dim3(64), 0, stream, x, positions, freq_factors, y, n_heads, head_dim, n_dims,
                    theta_scale, args);
}

bool attention_supported(int32_t kv_type) {
  return kv_type == QINFER_TYPE_F32 || kv_type == QINFER_TYPE_F16 || kv_type == QINFER_TYPE_Q8_0;
}

cudaError_t launch_attention(int32_t kv_type, const float *q, const uint8_t *k, const uint8_t *v, const int32_t *n_kv, float *out,
                             int64_t tokens, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t head_stride, uint64_t row_bytes,
                             float scale, cudaStream_t stream) {
  if (head_dim > kMaxHeadDim || n_heads > 0x7fffffff || tokens > 65535) return cudaErrorInvalidValue;
  const AttnArgs args{q, k, v, n_kv, out, int(n_heads), int(n_kv_heads), int(head_dim), head_stride, row_bytes, scale, nullptr, nullptr};
  switch (kv_type) {
    case QINFER_TYPE_F32: return launch_attention_for<KvF32>(args, tokens, stream);
    case QINFER_TYPE_F16:
      // Prompts: the tensor-core kernel (per block 64 tokens against tiles of 64 cached positions) where it takes the shape.
      if (tokens > kPrefillMinTokens) {
        const cudaError_t e = launch_attention_prefill_f16(q, k, v, n_kv, out, tokens, n_heads, n_kv_heads, head_dim, head_stride, row_bytes, scale, stream);
        if (e != cudaErrorNotSupported) return e;
      }
      return launch_attention_for<KvF16>(args, tokens, stream);
    case QINFER_TYPE_Q8_0: return launch_attention_for<KvQ8_0>(args, tokens, stream);
    default: return cudaErrorNotSupported;
  }
}

}  // namespace qinfer::cuda
