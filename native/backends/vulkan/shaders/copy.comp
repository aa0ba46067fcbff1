// Copies ne[1] rows of ne[0] bytes from src0 (rows ne[2] bytes apart) to dst (rows ne[3] bytes apart), in words.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer Src { uint s[]; };
layout(std430, binding = DST) writeonly buffer Dst { uint d[]; };

void main() {
  uint words = pc.ne[0] / 4u;
  uint i = workgroup_index() * 256u + gl_LocalInvocationID.x;
  if (i >= words * pc.ne[1]) return;
  uint r = i / words, c = i % words;
  d[pc.off[DST] + r * (pc.ne[3] / 4u) + c] = s[pc.off[0] + r * (pc.ne[2] / 4u) + c];
}
