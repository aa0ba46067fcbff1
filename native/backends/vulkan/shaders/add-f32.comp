// dst[i] = src0[i] + src1[i] over ne[0] F32 elements.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer Src0 { float a[]; };
layout(std430, binding = 1) readonly buffer Src1 { float b[]; };
layout(std430, binding = DST) writeonly buffer Dst { float d[]; };

void main() {
  uint i = workgroup_index() * 256 + gl_LocalInvocationID.x;
  if (i >= pc.ne[0]) return;
  d[pc.off[DST] + i] = a[pc.off[0] + i] + b[pc.off[1] + i];
}
