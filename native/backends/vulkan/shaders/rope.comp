// Rotary position embedding of x [tokens][heads][head_dim] (rope.glsl says what ne and params hold); src1: int32
// position per token, src2: optional per-pair frequency divisors. One workgroup per (token, head).
#version 450
#include "common.glsl"

#define THREADS 64u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) readonly buffer Factors { float ff[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

#include "rope.glsl"

void main() {
  uint hd = pc.ne[0], heads = pc.ne[1], n_dims = pc.ne[3], half_dims = n_dims / 2u;
  uint wg = workgroup_index();
  if (wg >= heads * pc.ne[2]) return;
  uint t = wg / heads;
  uint xo = pc.off[0] + wg * hd, yo = pc.off[DST] + wg * hd;
  for (uint i = gl_LocalInvocationID.x; i < half_dims; i += THREADS) {
    uvec2 d = rope_dims(i, half_dims);
    vec2 r = rope_turn(rope_cos_sin(i, pos[pc.off[1] + t]), x[xo + d.x], x[xo + d.y]);
    y[yo + d.x] = r.x;
    y[yo + d.y] = r.y;
  }
  for (uint i = n_dims + gl_LocalInvocationID.x; i < hd; i += THREADS) y[yo + i] = x[xo + i];
}
