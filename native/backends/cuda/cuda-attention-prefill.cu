// Causal grouped-query attention of a prompt (many query tokens) over an F16 KV cache on the tensor cores, flash-
// attention style: a block takes 64 query tokens of one head, walks the cache in tiles of 64 positions (K and V copied
// into shared memory with cp.async, double-buffered) and keeps the online softmax in registers. Q and the softmax
// weights P enter the f16 mma as a sum of two f16 parts (hi + lo, each product accumulated in f32), so scores and
// outputs carry float32 accuracy (K and V are f16 already) and match the scalar kernel to rounding.
#include <cmath>

#include "cuda-kernels.h"
#include "cuda-pdl.cuh"
#include "cuda-ptx.cuh"

namespace qinfer::cuda {
namespace {

constexpr int kTile = 64;              // query tokens per block, cache positions per tile
constexpr int kFlashThreads = 128;     // 4 warps x 16 query tokens
constexpr float kLog2e = 1.4426950408889634f;

struct FlashArgs {
  const float *q;
  const uint8_t *k, *v;
  const int32_t *n_kv;
  float *out;
  int tokens, n_heads, group;  // group: query heads per KV head
  int64_t head_stride;
  uint64_t row_bytes;
  float scale;
};

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// f16 pair (lo column in the low half) of a, b as hi parts and the f16 of their remainders as lo parts.
__device__ __forceinline__ void split2(float a, float b, uint32_t &hi, uint32_t &lo) {
  const __half2 h = __floats2half2_rn(a, b);
  const float2 back = __half22float2(h);
  hi = h2_bits(h);
  lo = h2_bits(__floats2half2_rn(a - back.x, b - back.y));
}

template <int D>
__global__ void __launch_bounds__(kFlashThreads) flash_prefill_kernel(const FlashArgs a) {
  constexpr int kPitch = D * 2 + 16;  // bytes per row in shared memory: ldmatrix's 8 rows hit distinct banks
  constexpr int kTileBytes = kTile * kPitch;
  extern __shared__ int4 smem_i4[];
  uint8_t *smem = reinterpret_cast<uint8_t *>(smem_i4);
  // Buffer b: K tile at 2b, V tile at 2b + 1 (tile-sized slots).
  auto ks = [&](int b) { return smem + 2 * b * kTileBytes; };
  auto vs = [&](int b) { return smem + (2 * b + 1) * kTileBytes; };
  __shared__ int counts[kTile];
  __shared__ int max_count;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, qd = lane % 4;
  const int t0 = blockIdx.x * kTile, h = blockIdx.y, kvh = h / a.group;
  pdl_wait();
  pdl_trigger();
  if (tid == 0) max_count = 0;
  __syncthreads();
  if (tid < kTile) {
    int c = t0 + tid < a.tokens ? a.n_kv[t0 + tid] : 0;
    c = c < 0 ? 0 : (c > a.head_stride ? int(a.head_stride) : c);
    counts[tid] = c;
    atomicMax(&max_count, c);
  }
  const uint8_t *kbase = a.k + uint64_t(kvh) * uint64_t(a.head_stride) * a.row_bytes;
  const uint8_t *vbase = a.v + uint64_t(kvh) * uint64_t(a.head_stride) * a.row_bytes;
  __syncthreads();
  const int total = max_count, tiles = (total + kTile - 1) / kTile;

  auto load_kv = [&](int tile, int buf) {
    constexpr int chunks = D / 8;  // 16-byte chunks per row
    for (int i = tid; i < kTile * chunks; i += kFlashThreads) {
      const int r = i / chunks, c = i % chunks, p = tile * kTile + r;
      const uint64_t off = uint64_t(p < total ? p : 0) * a.row_bytes + 16 * c;
      cp_async16(ks(buf) + r * kPitch + 16 * c, kbase + off, p < total ? 16 : 0);  // past the end: zeros
      cp_async16(vs(buf) + r * kPitch + 16 * c, vbase + off, p < total ? 16 : 0);
    }
  };
  if (tiles > 0) load_kv(0, 0);
  cp_async_commit();

  // Q, scaled by scale * log2(e) (the softmax runs in base 2), as hi and lo f16 parts, staged through buffer 1.
  uint8_t *qhi = ks(1), *qlo = vs(1);
  const float qscale = a.scale * kLog2e;
  for (int i = tid; i < kTile * D / 2; i += kFlashThreads) {
    const int r = i / (D / 2), c = 2 * (i % (D / 2)), t = t0 + r;
    float2 v = make_float2(0.f, 0.f);
    if (t < a.tokens) v = *reinterpret_cast<const float2 *>(a.q + (int64_t(t) * a.n_heads + h) * D + c);
    uint32_t hi, lo;
    split2(v.x * qscale, v.y * qscale, hi, lo);
    *reinterpret_cast<uint32_t *>(qhi + r * kPitch + 2 * c) = hi;
    *reinterpret_cast<uint32_t *>(qlo + r * kPitch + 2 * c) = lo;
  }
  __syncthreads();
  uint32_t qa_hi[D / 16][4], qa_lo[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; kk++) {
    const int off = (warp * 16 + lane % 16) * kPitch + (kk * 16 + (lane / 16) * 8) * 2;
    ldmatrix_x4(qa_hi[kk], qhi + off);
    ldmatrix_x4(qa_lo[kk], qlo + off);
  }
  __syncthreads();  // buffer 1 is free for the cache tiles

  const int cnt[2] = {counts[warp * 16 + g], counts[warp * 16 + g + 8]};
  float o[D / 8][4];
#pragma unroll
  for (int c = 0; c < D / 8; c++)
#pragma unroll
    for (int e = 0; e < 4; e++) o[c][e] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for (int it = 0; it < tiles; it++) {
    const int buf = it & 1;
    if (it + 1 < tiles) load_kv(it + 1, buf ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();

    // S = Q K^T for this warp's 16 tokens x 64 positions.
    float s[8][4];
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) s[j][e] = 0.f;
#pragma unroll
    for (int j = 0; j < 8; j++) {
#pragma unroll
      for (int kk = 0; kk < D / 16; kk += 2) {
        uint32_t b[4];  // k16 steps kk and kk + 1 of positions 8j..8j+7
        ldmatrix_x4(b, ks(buf) + (j * 8 + lane % 8) * kPitch + (kk * 16 + (lane / 8) * 8) * 2);
        const uint32_t b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
        mma_f16(s[j], qa_hi[kk], b0);
        mma_f16(s[j], qa_lo[kk], b0);
        mma_f16(s[j], qa_hi[kk + 1], b1);
        mma_f16(s[j], qa_lo[kk + 1], b1);
      }
    }
    // Mask, then the online softmax of rows g (e < 2) and g + 8 (e >= 2).
    const int p0 = it * kTile;
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int p = p0 + j * 8 + 2 * qd + (e & 1);
        if (p >= cnt[e >> 1]) s[j][e] = -INFINITY;
        mx[e >> 1] = fmaxf(mx[e >> 1], s[j][e]);
      }
    float corr[2], base[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float m_new = fmaxf(m[r], mx[r]);
      base[r] = m_new == -INFINITY ? 0.f : m_new;  // a row with nothing visible yet keeps zeros, not NaN
      corr[r] = exp2f(m[r] - base[r]);
      m[r] = m_new;
      l[r] *= corr[r];
    }
#pragma unroll
    for (int c = 0; c < D / 8; c++)
#pragma unroll
      for (int e = 0; e < 4; e++) o[c][e] *= corr[e >> 1];
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        s[j][e] = exp2f(s[j][e] - base[e >> 1]);
        l[e >> 1] += s[j][e];
      }
    // O += P V: P's accumulators are already its A fragments (positions 16 kk2 .. +15 = chunks 2 kk2, 2 kk2 + 1).
#pragma unroll
    for (int kk2 = 0; kk2 < 4; kk2++) {
      uint32_t p_hi[4], p_lo[4];
      split2(s[2 * kk2][0], s[2 * kk2][1], p_hi[0], p_lo[0]);
      split2(s[2 * kk2][2], s[2 * kk2][3], p_hi[1], p_lo[1]);
      split2(s[2 * kk2 + 1][0], s[2 * kk2 + 1][1], p_hi[2], p_lo[2]);
      split2(s[2 * kk2 + 1][2], s[2 * kk2 + 1][3], p_hi[3], p_lo[3]);
#pragma unroll
      for (int c = 0; c < D / 8; c += 2) {
        uint32_t b[4];  // columns 8c..8c+7 (b[0], b[1]) and 8c+8.. (b[2], b[3])
        ldmatrix_x4_trans(b, vs(buf) + (kk2 * 16 + (lane / 8 % 2) * 8 + lane % 8) * kPitch + (c * 8 + (lane / 16) * 8) * 2);
        const uint32_t b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
        mma_f16(o[c], p_hi, b0);
        mma_f16(o[c], p_lo, b0);
        mma_f16(o[c + 1], p_hi, b1);
        mma_f16(o[c + 1], p_lo, b1);
      }
    }
    __syncthreads();  // this buffer is refilled by the next trip's prefetch
  }

#pragma unroll
  for (int r = 0; r < 2; r++) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int t = t0 + warp * 16 + g + 8 * r;
    if (t >= a.tokens) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    float *dst = a.out + (int64_t(t) * a.n_heads + h) * D;
#pragma unroll
    for (int c = 0; c < D / 8; c++)
      *reinterpret_cast<float2 *>(dst + c * 8 + 2 * qd) = make_float2(o[c][2 * r] * inv, o[c][2 * r + 1] * inv);
  }
}

template <int D>
cudaError_t launch_for(const FlashArgs &a, cudaStream_t stream) {
  constexpr int smem = 4 * kTile * (D * 2 + 16);
  if (smem > 48 * 1024) {
    if (cudaError_t e = cudaFuncSetAttribute(flash_prefill_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)) return e;
  }
  return launch_pdl(flash_prefill_kernel<D>, dim3(unsigned((a.tokens + kTile - 1) / kTile), unsigned(a.n_heads)), dim3(kFlashThreads), smem, stream,
                    a);
}

}  // namespace

cudaError_t launch_attention_prefill_f16(const float *q, const uint8_t *k, const uint8_t *v, const int32_t *n_kv, float *out, int64_t tokens,
                                         int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t head_stride, uint64_t row_bytes,
                                         float scale, cudaStream_t stream) {
  if ((head_dim != 64 && head_dim != 128) || n_kv_heads < 1 || n_heads % n_kv_heads || tokens > (int64_t(1) << 30) || n_heads > 65535 ||
      head_stride > 0x7fffffff || row_bytes % 16 || reinterpret_cast<uintptr_t>(k) % 16 || reinterpret_cast<uintptr_t>(v) % 16 ||
      reinterpret_cast<uintptr_t>(q) % 8 || reinterpret_cast<uintptr_t>(out) % 8)
    return cudaErrorNotSupported;
  const FlashArgs a{q, k, v, n_kv, out, int(tokens), int(n_heads), int(n_heads / n_kv_heads), head_stride, row_bytes, scale};
  return head_dim == 64 ? launch_for<64>(a, stream) : launch_for<128>(a, stream);
}

}  // namespace qinfer::cuda
