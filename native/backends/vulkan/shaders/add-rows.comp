// dst[r][i] = src0[r][i] + src1[i] (a bias on every row); ne: row length, rows.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer Src0 { float a[]; };
layout(std430, binding = 1) readonly buffer Bias { float b[]; };
layout(std430, binding = DST) writeonly buffer Dst { float d[]; };

void main() {
  uint i = workgroup_index() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.ne[0] * pc.ne[1]) return;
  d[pc.off[DST] + i] = a[pc.off[0] + i] + b[pc.off[1] + i % pc.ne[0]];
}
