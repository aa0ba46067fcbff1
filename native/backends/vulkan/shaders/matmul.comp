// dst[t][r] = dot(W row r, x[t]) for W in the format picked by TYPE_* (dequant.glsl); ne: cols, rows, tokens
// (0 for MATVEC). One workgroup per (token, row), threads over 32-element chunks.
#version 450
#include "common.glsl"

#define THREADS 64u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { uint wq[]; };
layout(std430, binding = 1) readonly buffer X { float xv[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

#include "dequant.glsl"

shared float red[THREADS];
QINFER_REDUCE(workgroup_sum, QINFER_ADD, subgroupAdd)

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1], tokens = max(pc.ne[2], 1u);
  uint wg = workgroup_index();
  // Uniform across the workgroup, so the barriers below stay in uniform control flow.
  if (wg >= rows * tokens) return;
  uint row = wg % rows, t = wg / rows;
  uint base = pc.off[0] * 4u + row * row_bytes(cols);
  uint xo = pc.off[1] + t * cols;
  uint chunks = (cols + 31u) / 32u;
  float sum = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < chunks; c += THREADS) {
    float v[32];
    chunk_values(base, c, cols, v);
    uint x0 = xo + 32u * c;
    // A constant trip count keeps v[] in registers; past the row's end v is 0 and x is not read past it.
    for (uint j = 0u; j < 32u; j++) {
#ifdef ELEMENTWISE
      sum += v[j] * xv[min(x0 + j, xo + cols - 1u)];
#else
      sum += v[j] * xv[x0 + j];
#endif
    }
  }
  sum = workgroup_sum(sum);
  if (gl_LocalInvocationID.x == 0u) y[pc.off[DST] + t * rows + row] = sum;
}
