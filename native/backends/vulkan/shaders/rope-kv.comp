// ROPE and the K/V cache stores after it in one dispatch (vk-fuse.cc), cache of type KV_F32 or KV_F16: workgroups
// (token, head) < tokens x heads rotate x (binding 0; positions binding 1, frequency divisors binding 2) into y
// (DST) as rope.comp does, and those of heads extra[0] .. extra[0] + extra[1] also store the rotated row as K cache
// head (head - extra[0]) (binding 5); the next tokens x extra[2] workgroups store the V rows (binding 3, [tokens][V
// heads][head_dim]) into the V cache (binding 6). Cache positions per token at binding 7, extra[3] per cache head,
// stored as kv-store.comp does (F16 packs element pairs into whole words: head_dim even).
#version 450
#include "common.glsl"

#define THREADS 64u
#define MAX_DIM 256u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) readonly buffer Factors { float ff[]; };
layout(std430, binding = 3) readonly buffer V { float vsrc[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };
layout(std430, binding = 5) writeonly buffer KCache { uint kcache[]; };
layout(std430, binding = 6) writeonly buffer VCache { uint vcache[]; };
layout(std430, binding = 7) readonly buffer KvPos { int kvpos[]; };

#include "rope.glsl"

shared float row[MAX_DIM];

uint word(float a, float b) {
#if defined(KV_F16)
  return packHalf2x16(vec2(a, b));
#else
  return floatBitsToUint(a);
#endif
}

void main() {
  uint hd = pc.ne[0], heads = pc.ne[1], tokens = pc.ne[2], n_dims = pc.ne[3], half_dims = n_dims / 2u;
  uint k_first = pc.extra[0], k_heads = pc.extra[1], v_heads = pc.extra[2], stride = pc.extra[3];
#if defined(KV_F16)
  uint words = hd / 2u, step = 2u;
#else
  uint words = hd, step = 1u;
#endif
  uint wg = workgroup_index(), tid = gl_LocalInvocationID.x;
  if (wg < heads * tokens) {
    uint t = wg / heads, h = wg % heads;
    uint xo = pc.off[0] + wg * hd, yo = pc.off[DST] + wg * hd;
    for (uint i = tid; i < half_dims; i += THREADS) {
      uvec2 d = rope_dims(i, half_dims);
      vec2 r = rope_turn(rope_cos_sin(i, pos[pc.off[1] + t]), x[xo + d.x], x[xo + d.y]);
      y[yo + d.x] = r.x;
      y[yo + d.y] = r.y;
      row[d.x] = r.x;
      row[d.y] = r.y;
    }
    for (uint i = n_dims + tid; i < hd; i += THREADS) {
      y[yo + i] = x[xo + i];
      row[i] = x[xo + i];
    }
    if (h < k_first || h >= k_first + k_heads) return;  // uniform across the workgroup
    barrier();
    int p = kvpos[pc.off[7] + t];
    if (p < 0 || uint(p) >= stride) return;
    uint o = pc.off[5] + ((h - k_first) * stride + uint(p)) * words;
    for (uint j = tid; j < words; j += THREADS) kcache[o + j] = word(row[step * j], row[step * j + step - 1u]);
  } else if (wg < heads * tokens + v_heads * tokens) {
    uint w = wg - heads * tokens, t = w / v_heads, h = w % v_heads;
    int p = kvpos[pc.off[7] + t];
    if (p < 0 || uint(p) >= stride) return;
    uint xo = pc.off[3] + w * hd, o = pc.off[6] + (h * stride + uint(p)) * words;
    for (uint j = tid; j < words; j += THREADS) vcache[o + j] = word(vsrc[xo + step * j], vsrc[xo + step * j + step - 1u]);
  }
}
