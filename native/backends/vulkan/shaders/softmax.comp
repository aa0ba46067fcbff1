// dst = softmax of each row of src0 (max subtracted first); ne: n, rows.
#version 450
#include "common.glsl"

#define THREADS 256u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = DST) buffer Y { float y[]; };

shared float red[THREADS];
QINFER_REDUCE(workgroup_sum, QINFER_ADD, subgroupAdd)
QINFER_REDUCE(workgroup_max, max, subgroupMax)

void main() {
  uint n = pc.ne[0], row = workgroup_index();
  if (row >= pc.ne[1]) return;
  uint xo = pc.off[0] + row * n, yo = pc.off[DST] + row * n;
  float mx = uintBitsToFloat(0xFF800000u);  // -inf
  for (uint i = gl_LocalInvocationID.x; i < n; i += THREADS) mx = max(mx, x[xo + i]);
  mx = workgroup_max(mx);
  float sum = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < n; i += THREADS) sum += exp(x[xo + i] - mx);
  float inv = 1.0 / workgroup_sum(sum);
  // Each invocation rewrites only its own elements, so dst may alias src0.
  for (uint i = gl_LocalInvocationID.x; i < n; i += THREADS) y[yo + i] = exp(x[xo + i] - mx) * inv;
}
