// y[r] = dot(W row r, x) for F32 W (ne[0] columns, ne[1] rows): one workgroup per row, shared-memory reduction.
#version 450
#include "common.glsl"

#define THREADS 128
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { float w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

shared float partial[THREADS];

void main() {
  uint row = workgroup_index();
  // Uniform across the workgroup, so the barriers below stay in uniform control flow.
  if (row >= pc.ne[1]) return;
  uint cols = pc.ne[0];
  uint tid = gl_LocalInvocationID.x;
  uint base = pc.off[0] + row * cols;
  float sum = 0.0;
  for (uint c = tid; c < cols; c += THREADS) sum += w[base + c] * x[pc.off[1] + c];
  partial[tid] = sum;
  barrier();
  for (uint s = THREADS / 2; s > 0; s >>= 1) {
    if (tid < s) partial[tid] += partial[tid + s];
    barrier();
  }
  if (tid == 0) y[pc.off[3] + row] = partial[0];
}
