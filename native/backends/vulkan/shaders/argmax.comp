// dst[r] (int32) = index of the largest element of row r (the first one on ties); ne: n, rows.
#version 450
#include "common.glsl"

#define THREADS 256u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = DST) writeonly buffer Out { int best[]; };

shared float vals[THREADS];
shared uint idxs[THREADS];

void main() {
  uint n = pc.ne[0], row = workgroup_index();
  if (row >= pc.ne[1]) return;
  uint tid = gl_LocalInvocationID.x, xo = pc.off[0] + row * n;
  float bv = uintBitsToFloat(0xFF800000u);
  uint bi = 0xFFFFFFFFu;
  for (uint i = tid; i < n; i += THREADS) {
    float v = x[xo + i];
    if (bi == 0xFFFFFFFFu || v > bv) {
      bv = v;
      bi = i;
    }
  }
  vals[tid] = bv;
  idxs[tid] = bi;
  barrier();
  for (uint s = THREADS / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
      float ov = vals[tid + s];
      uint oi = idxs[tid + s];
      if (oi != 0xFFFFFFFFu && (idxs[tid] == 0xFFFFFFFFu || ov > vals[tid] || (ov == vals[tid] && oi < idxs[tid]))) {
        vals[tid] = ov;
        idxs[tid] = oi;
      }
    }
    barrier();
  }
  if (tid == 0u) best[pc.off[DST] + row] = int(idxs[0]);
}
