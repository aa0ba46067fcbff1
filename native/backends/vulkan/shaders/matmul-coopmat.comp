// Batched products of a quantized weight format (TYPE_*, dequant.glsl) on the device's matrix units through
// VK_NV_cooperative_matrix: y[t][r] = dot(W row r, x[t]); ne: cols, rows, tokens. Used only where the device lists
// 16x16x16 f16 x f16 -> f32 subgroup products (vk-caps.h coopmat_f16_nv). Workgroup i computes a tile of BM rows x
// BN tokens (row tile i % row tiles): each pass over BK = 64 columns, every thread dequantizes one 32-element chunk
// of the tile's weights and copies 32 of the tokens' x, both rounded to f16 into shared memory; then each of the 4
// subgroups multiplies a 32 x 32 quarter of the tile as 2 x 2 16 x 16 blocks accumulated in f32. The f32 tile goes
// through shared memory to y, whose rows need not be aligned. 36 KiB of shared memory.
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"

#define THREADS 128u
#define BM 64u
#define BN 64u
#define BK 64u
#define LDS (BK + 8u)  // f16 row stride in shared memory: whole 16-byte rows, spread over the banks
#define LDO (BM + 4u)  // f32 stride of the result tile, token-major
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { uint wq[]; };
layout(std430, binding = 1) readonly buffer X { float xv[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

#include "dequant.glsl"

shared float16_t ws[BM * LDS];  // [row][k]
shared float16_t xs[BN * LDS];  // [token][k]
shared float os[BN * LDO];      // [token][row]

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1], tokens = pc.ne[2];
  uint row_tiles = (rows + BM - 1u) / BM, wg = workgroup_index();
  if (wg >= row_tiles * ((tokens + BN - 1u) / BN)) return;  // uniform: barriers stay in uniform control flow
  uint r0 = (wg % row_tiles) * BM, t0 = (wg / row_tiles) * BN, tid = gl_LocalInvocationID.x;
  uint rbytes = row_bytes(cols);
  // Subgroup s computes rows 32 * (s / 2) .. +32 and tokens 32 * (s % 2) .. +32 of the tile.
  uint sr = 32u * (gl_SubgroupID / 2u), st = 32u * (gl_SubgroupID % 2u);

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
  [[unroll]] for (uint i = 0u; i < 2u; i++)
    [[unroll]] for (uint j = 0u; j < 2u; j++) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  for (uint k0 = 0u; k0 < cols; k0 += BK) {
    {
      // Weights: chunk tid % 2 of this pass for tile row tid / 2 (zeros past the matrix).
      uint r = tid / 2u, c = k0 / 32u + tid % 2u;
      float v[32];
      if (r0 + r < rows && 32u * c < cols) {
        chunk_values(pc.off[0] * 4u + (r0 + r) * rbytes, c, cols, v);
      } else {
        [[unroll]] for (uint j = 0u; j < 32u; j++) v[j] = 0.0;
      }
      [[unroll]] for (uint j = 0u; j < 32u; j++) ws[r * LDS + 32u * (tid % 2u) + j] = float16_t(v[j]);
    }
    // x: BN tokens x BK columns, consecutive threads along a token's row.
    for (uint e = tid; e < BN * BK; e += THREADS) {
      uint t = e / BK, k = k0 + e % BK;
      float xv_ = t0 + t < tokens && k < cols ? xv[pc.off[1] + (t0 + t) * cols + k] : 0.0;
      xs[t * LDS + e % BK] = float16_t(xv_);
    }
    barrier();
    [[unroll]] for (uint kk = 0u; kk < BK; kk += 16u) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[2], b[2];
      [[unroll]] for (uint i = 0u; i < 2u; i++) coopMatLoadNV(a[i], ws, (sr + 16u * i) * LDS + kk, LDS, false);
      // x's rows are the columns of B (k x tokens): column-major.
      [[unroll]] for (uint j = 0u; j < 2u; j++) coopMatLoadNV(b[j], xs, (st + 16u * j) * LDS + kk, LDS, true);
      [[unroll]] for (uint i = 0u; i < 2u; i++)
        [[unroll]] for (uint j = 0u; j < 2u; j++) acc[i][j] = coopMatMulAddNV(a[i], b[j], acc[i][j]);
    }
    barrier();
  }
  // The result tile (rows x tokens) stored token-major: column-major with stride LDO.
  [[unroll]] for (uint i = 0u; i < 2u; i++)
    [[unroll]] for (uint j = 0u; j < 2u; j++) coopMatStoreNV(acc[i][j], os, (st + 16u * j) * LDO + sr + 16u * i, LDO, true);
  barrier();
  for (uint e = tid; e < BM * BN; e += THREADS) {
    uint t = e / BM, r = e % BM;
    if (t0 + t < tokens && r0 + r < rows) y[pc.off[DST] + (t0 + t) * rows + r0 + r] = os[t * LDO + r];
  }
}
