// Per-row device code that the plain ops and their fused forms share, so both compute the same bits: one head's
// RoPE rotation and one K/V row's conversion into the cache.
#pragma once

#include <cstdint>

#include "cuda-kernels.h"
#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {

// Rotates head row v into o (may be v) with the block's threads, as QINFER_OP_ROPE defines it (YaRN included);
// dimensions past n_dims are copied.
__device__ __forceinline__ void rope_row(const float *v, float *o, int32_t position, const float *freq_factors, int64_t head_dim, int64_t n_dims,
                                         float theta_scale, const RopeArgs &r) {
  const int64_t half = n_dims / 2;
  for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    // Successive float products, as the CPU builds the frequencies, so the angles match bit for bit.
    float theta = float(position);
    for (int64_t k = 0; k < i; k++) theta *= theta_scale;
    const float ff = freq_factors ? freq_factors[i] : 1.0f;
    const float extrap = __fdiv_rn(theta, ff);
    float angle = __fmul_rn(r.freq_scale, extrap);
    if (r.ext_factor != 0.0f) {
      // YaRN: the pairs below the correction range keep their trained frequency, those above are interpolated.
      const float ramp = __fmul_rn(1.0f - fminf(1.0f, fmaxf(0.0f, __fdiv_rn(float(i) - r.corr_low, fmaxf(0.001f, r.corr_high - r.corr_low)))), r.ext_factor);
      angle = __fadd_rn(__fmul_rn(angle, 1.0f - ramp), __fmul_rn(extrap, ramp));
    }
    const float c = cosf(angle) * r.attn_factor, s = sinf(angle) * r.attn_factor;
    const int64_t a = r.neox ? i : 2 * i, b = r.neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    o[a] = x0 * c - x1 * s;
    o[b] = x0 * s + x1 * c;
  }
  for (int64_t i = n_dims + threadIdx.x; i < head_dim; i += blockDim.x) o[i] = v[i];
}

// Writes one F32 row x of head_dim into a cache row of kv_type with the block's threads (blockDim a multiple of
// 32): F32, F16 (round to nearest even), Q8_0 (one warp per 32-element block, amax / 127, round half away from
// zero, as the CPU's rtn_q8).
__device__ __forceinline__ void store_kv_row(int32_t kv_type, const float *x, uint8_t *row, int64_t head_dim) {
  if (kv_type == QINFER_TYPE_F32) {
    for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) reinterpret_cast<float *>(row)[i] = x[i];
  } else if (kv_type == QINFER_TYPE_F16) {
    for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) reinterpret_cast<uint16_t *>(row)[i] = qinfer_f32_to_half(x[i]);
  } else {
    const int lane = threadIdx.x % 32;
    for (int64_t b = threadIdx.x / 32; b < head_dim / 32; b += blockDim.x / 32) {
      const float v = x[b * 32 + lane];
      float amax = fabsf(v);
      for (int off = 16; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      uint8_t *blk = row + b * 34;
      if (lane == 0) {
        const uint16_t dh = qinfer_f32_to_half(d);
        blk[0] = uint8_t(dh & 0xff);
        blk[1] = uint8_t(dh >> 8);
      }
      blk[2 + lane] = uint8_t(int8_t(roundf(v * id)));
    }
  }
}

}  // namespace qinfer::cuda
