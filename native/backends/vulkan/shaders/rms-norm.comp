// dst = x / sqrt(mean(x^2) + eps) * weight per row; ne: n, rows, has_weight; params[0] = eps.
#version 450
#include "common.glsl"

#define THREADS 256u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

shared float red[THREADS];
QINFER_REDUCE(workgroup_sum, QINFER_ADD, subgroupAdd)

void main() {
  uint n = pc.ne[0], row = workgroup_index();
  if (row >= pc.ne[1]) return;
  uint xo = pc.off[0] + row * n, yo = pc.off[DST] + row * n;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < n; i += THREADS) ss += x[xo + i] * x[xo + i];
  ss = workgroup_sum(ss);
  float s = 1.0 / sqrt(ss / float(n) + pc.params[0]);
  for (uint i = gl_LocalInvocationID.x; i < n; i += THREADS) {
    precise float v = x[xo + i] * s;
    y[yo + i] = pc.ne[2] != 0u ? v * w[pc.off[1] + i] : v;
  }
}
