// Batched products for any weight format (TYPE_*, dequant.glsl): y[t][r] = dot(W row r, x[t]); ne: cols, rows, tokens.
// Workgroup i computes a tile of BM rows x BN tokens (row tile i % row tiles): each pass over BK = 32 columns, half
// the threads dequantize the tile's weights once into shared memory (a 32-element chunk each) while the other half
// copy the tokens' x, then every thread accumulates 8 rows x 4 tokens in registers from vec4 reads of both. Rows are
// padded by 4 floats so the vec4 reads and writes of 8 different rows fall in different banks; the two tiles take
// 18 KiB of shared memory (lavapipe allows 32, most GPUs 48 or more).
#version 450
#include "common.glsl"

#define THREADS 128u
#define BM 64u
#define BN 64u
#define BK 32u
#define PAD 4u
#define STRIDE (BK + PAD)
#define TR 8u                 // threads along rows: thread rows tr + TR * i, i < BM / TR
#define TT (THREADS / TR)     // threads along tokens: tokens tt + TT * j, j < BN / TT
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { uint wq[]; };
layout(std430, binding = 1) readonly buffer X { float xv[]; };
layout(std430, binding = 1) readonly buffer X4 { vec4 xv4[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

#include "dequant.glsl"

shared vec4 ws[BM * STRIDE / 4u];
shared vec4 xs[BN * STRIDE / 4u];

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1], tokens = pc.ne[2];
  uint row_tiles = (rows + BM - 1u) / BM, wg = workgroup_index();
  if (wg >= row_tiles * ((tokens + BN - 1u) / BN)) return;  // uniform: barriers stay in uniform control flow
  uint r0 = (wg % row_tiles) * BM, t0 = (wg / row_tiles) * BN, tid = gl_LocalInvocationID.x;
  uint tr = tid % TR, tt = tid / TR;
  uint rbytes = row_bytes(cols);
  // x as vec4 when every token row starts on a 16-byte boundary.
  bool x_vec4 = cols % 4u == 0u && pc.off[1] % 4u == 0u;

  vec4 acc[BM / TR];  // acc[i][j]: row tr + TR * i, token tt + TT * j
  [[unroll]] for (uint i = 0u; i < BM / TR; i++) acc[i] = vec4(0.0);

  for (uint k0 = 0u; k0 < cols; k0 += BK) {
    if (tid < BM) {
      // Weights: chunk k0 / 32 of tile row tid (zeros past the matrix).
      uint c = k0 / 32u;
      float v[32];
      if (r0 + tid < rows) {
        chunk_values(pc.off[0] * 4u + (r0 + tid) * rbytes, c, cols, v);
      } else {
        [[unroll]] for (uint j = 0u; j < 32u; j++) v[j] = 0.0;
      }
      [[unroll]] for (uint j = 0u; j < 8u; j++) ws[tid * (STRIDE / 4u) + j] = vec4(v[4u * j], v[4u * j + 1u], v[4u * j + 2u], v[4u * j + 3u]);
    } else {
      // x: BN tokens x BK columns as vec4s, 8 per token row, consecutive threads along the row.
      for (uint e = tid - BM; e < BN * BK / 4u; e += THREADS - BM) {
        uint t = e / (BK / 4u), k = k0 + 4u * (e % (BK / 4u));
        vec4 xv_ = vec4(0.0);
        if (t0 + t < tokens && k < cols) {
          uint base = pc.off[1] + (t0 + t) * cols + k;
          if (x_vec4) {
            xv_ = xv4[base / 4u];
          } else {
            [[unroll]] for (uint c = 0u; c < 4u; c++)
              if (k + c < cols) xv_[c] = xv[base + c];
          }
        }
        xs[t * (STRIDE / 4u) + e % (BK / 4u)] = xv_;
      }
    }
    barrier();
    [[unroll]] for (uint k4 = 0u; k4 < BK / 4u; k4++) {
      vec4 w[BM / TR], x[BN / TT];
      [[unroll]] for (uint i = 0u; i < BM / TR; i++) w[i] = ws[(tr + TR * i) * (STRIDE / 4u) + k4];
      [[unroll]] for (uint j = 0u; j < BN / TT; j++) x[j] = xs[(tt + TT * j) * (STRIDE / 4u) + k4];
      [[unroll]] for (uint i = 0u; i < BM / TR; i++)
        [[unroll]] for (uint j = 0u; j < BN / TT; j++) acc[i][j] += dot(w[i], x[j]);
    }
    barrier();
  }
  [[unroll]] for (uint j = 0u; j < BN / TT; j++) {
    uint t = t0 + tt + TT * j;
    if (t >= tokens) continue;
    [[unroll]] for (uint i = 0u; i < BM / TR; i++) {
      uint r = r0 + tr + TR * i;
      if (r < rows) y[pc.off[DST] + t * rows + r] = acc[i][j];
    }
  }
}
