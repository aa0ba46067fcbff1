// Q4_0 and Q8_0 weight blocks decoded straight into f16 tensor-core fragments (the batched products of
// cuda-matmul-tc.cu and cuda-matmul-wgmma.cu): exact integer steps, then one rounding by the block's scale.
#pragma once

#include <cstdint>

#include "cuda-ptx.cuh"

namespace qinfer::cuda {

// mma fragments (k16 steps 0 and 1 of one 32-column block) of the weight row block at `blk` for lane quad q: register r
// of step s holds columns 16s + 2q, +1 (r = 0) and 16s + 2q + 8, +9 (r = 1), low column in the low half.
struct RawQ4_0 {
  static constexpr int kBlockBytes = 18;
  __device__ static void frags(const uint8_t *blk, int q, uint32_t (&b)[2][2]) {
    const __half2 d = __half2half2(*reinterpret_cast<const __half *>(blk));
    const __half2 bias = __floats2half2_rn(1032.f, 1032.f);
    // Bytes 2q, 2q + 1 (columns 2q, 2q + 1 low, +16 high) and 2q + 8, 2q + 9 of qs.
    const uint32_t lo = __byte_perm(*reinterpret_cast<const uint16_t *>(blk + 2 + 2 * q), 0, 0x4140);
    const uint32_t hi = __byte_perm(*reinterpret_cast<const uint16_t *>(blk + 10 + 2 * q), 0, 0x4140);
#pragma unroll
    for (int s = 0; s < 2; s++) {
      // 0x6400 | n is the half 1024 + n: minus 1032 gives n - 8 exactly, then one rounding by the scale.
      b[s][0] = h2_bits(__hmul2(__hsub2(bits_h2(((lo >> (4 * s)) & 0x000f000fu) | 0x64006400u), bias), d));
      b[s][1] = h2_bits(__hmul2(__hsub2(bits_h2(((hi >> (4 * s)) & 0x000f000fu) | 0x64006400u), bias), d));
    }
  }
};
struct RawQ8_0 {
  static constexpr int kBlockBytes = 34;
  __device__ static void frags(const uint8_t *blk, int q, uint32_t (&b)[2][2]) {
    const __half2 d = __half2half2(*reinterpret_cast<const __half *>(blk));
    const __half2 bias = __floats2half2_rn(1152.f, 1152.f);
#pragma unroll
    for (int s = 0; s < 2; s++) {
#pragma unroll
      for (int r = 0; r < 2; r++) {
        // Signed byte v: 0x64 above (v ^ 0x80) is the half 1024 + v + 128.
        const uint32_t p = *reinterpret_cast<const uint16_t *>(blk + 2 + 16 * s + 8 * r + 2 * q) ^ 0x8080u;
        b[s][r] = h2_bits(__hmul2(__hsub2(bits_h2(__byte_perm(p, 0x64646464u, 0x4140)), bias), d));
      }
    }
  }
};

}  // namespace qinfer::cuda
