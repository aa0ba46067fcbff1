// dst[i] = silu(gate[i]) * up[i] = gate / (1 + exp(-gate)) * up over ne[0] elements.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer Gate { float g[]; };
layout(std430, binding = 1) readonly buffer Up { float u[]; };
layout(std430, binding = DST) writeonly buffer Out { float d[]; };

void main() {
  uint i = workgroup_index() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.ne[0]) return;
  float x = g[pc.off[0] + i];
  d[pc.off[DST] + i] = x / (1.0 + exp(-x)) * u[pc.off[1] + i];
}
