// K or V rows into a head-major cache of type KV_F32 or KV_F16: src0 F32 [tokens][heads][head_dim], src1 int32
// per token: its cache position; dst [heads][ne[3] positions][head_dim]. ne: head_dim, heads, tokens, positions.
// One workgroup per (token, head); F16 packs element pairs into whole words (head_dim even).
#version 450
#include "common.glsl"

#define THREADS 64u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = DST) writeonly buffer Cache { uint cache[]; };

void main() {
  uint hd = pc.ne[0], heads = pc.ne[1], stride = pc.ne[3];
  uint wg = workgroup_index();
  if (wg >= heads * pc.ne[2]) return;
  uint t = wg / heads, h = wg % heads;
  int p = pos[pc.off[1] + t];
  if (p < 0 || uint(p) >= stride) return;
  uint xo = pc.off[0] + wg * hd, row = h * stride + uint(p);
#if defined(KV_F16)
  uint o = pc.off[DST] + row * (hd / 2u);
  for (uint j = gl_LocalInvocationID.x; j < hd / 2u; j += THREADS) cache[o + j] = packHalf2x16(vec2(x[xo + 2u * j], x[xo + 2u * j + 1u]));
#else
  uint o = pc.off[DST] + row * hd;
  for (uint j = gl_LocalInvocationID.x; j < hd; j += THREADS) cache[o + j] = floatBitsToUint(x[xo + j]);
#endif
}
