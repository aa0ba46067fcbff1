// y[r] = dot(W row r, x) for W in the format chosen by TYPE_* (dequant.glsl): one workgroup per row, threads over 32-element chunks.
#version 450
#include "common.glsl"

#define THREADS 128
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { uint wq[]; };
layout(std430, binding = 1) readonly buffer X { float xv[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

#include "dequant.glsl"

shared float partial[THREADS];

void main() {
  uint row = workgroup_index();
  // Uniform across the workgroup, so the barriers below stay in uniform control flow.
  if (row >= pc.ne[1]) return;
  uint cols = pc.ne[0];
  uint tid = gl_LocalInvocationID.x;
  uint base = pc.off[0] * 4u + row * ((cols / BLOCK_ELEMS) * BLOCK_BYTES);
  uint chunks = (cols + 31u) / 32u;
  float sum = 0.0;
  for (uint c = tid; c < chunks; c += THREADS) sum += chunk_dot(base, c, pc.off[1], cols);
  partial[tid] = sum;
  barrier();
  for (uint s = THREADS / 2; s > 0; s >>= 1) {
    if (tid < s) partial[tid] += partial[tid + s];
    barrier();
  }
  if (tid == 0) y[pc.off[3] + row] = partial[0];
}
