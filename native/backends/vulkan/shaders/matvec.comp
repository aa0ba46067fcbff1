// Q4_0 / Q8_0 (TYPE_*) products with up to NT tokens per pass: y[t][r] = dot(W row r, x[t]); ne: cols, rows, tokens.
// Workgroup i covers ROWS rows of token pass i / row groups. Each subgroup takes one row at a time, its lanes whole
// 32-element blocks read as 32-bit words and decoded once for all the pass's tokens, x read as vec4; sums are
// reduced with subgroupAdd: no barriers. x must start on a 16-byte boundary (vk-ops.cc picks matmul.comp otherwise).
#version 450
#include "common.glsl"
#include "block-layouts.glsl"

#define THREADS 128u
#define ROWS 4u
#define NT 8u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { uint wq[]; };
layout(std430, binding = 1) readonly buffer X { vec4 xv[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

#if defined(TYPE_Q4_0)
#define BYTES Q4_0_BYTES
#define QWORDS 4u
#else
#define BYTES Q8_0_BYTES
#define QWORDS 8u
#endif
#define VECS 8u  // a block's 32 weights as vec4s, in x's order

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1], tokens = max(pc.ne[2], 1u), blocks = cols / 32u;
  uint groups = (rows + ROWS - 1u) / ROWS, wg = workgroup_index();
  uint t0 = (wg / groups) * NT, nt = min(NT, tokens - t0);
  uint x4 = pc.off[1] / 4u, xrow = cols / 4u;
  for (uint r = gl_SubgroupID; r < ROWS; r += gl_NumSubgroups) {
    uint row = (wg % groups) * ROWS + r;
    if (row >= rows) break;  // uniform across the subgroup
    uint row0 = pc.off[0] * 4u + row * blocks * BYTES;
    float acc[NT];
    for (uint t = 0u; t < NT; t++) acc[t] = 0.0;
    for (uint b = gl_SubgroupInvocationID; b < blocks; b += gl_SubgroupSize) {
      // Blocks start on even bytes: the scale sits in the low or the high half of the first word.
      uint at = row0 + b * BYTES, w = at >> 2;
      bool high = (at & 2u) != 0u;
      uint prev = wq[w];
      float d = unpackHalf2x16(high ? prev >> 16 : prev).x;
      vec4 v[VECS];
      for (uint i = 0u; i < QWORDS; i++) {
        uint next = wq[w + 1u + i];
        uint q = high ? next : (prev >> 16) | (next << 16);
        prev = next;
#if defined(TYPE_Q4_0)
        v[i] = vec4(q & 0xFu, (q >> 8) & 0xFu, (q >> 16) & 0xFu, (q >> 24) & 0xFu) - 8.0;
        v[4u + i] = vec4((q >> 4) & 0xFu, (q >> 12) & 0xFu, (q >> 20) & 0xFu, q >> 28) - 8.0;
#else
        int s = int(q);
        v[i] = vec4(bitfieldExtract(s, 0, 8), bitfieldExtract(s, 8, 8), bitfieldExtract(s, 16, 8), bitfieldExtract(s, 24, 8));
#endif
      }
      for (uint t = 0u; t < NT; t++) {
        if (t >= nt) break;
        uint xb = x4 + (t0 + t) * xrow + b * VECS;
        float s = 0.0;
        for (uint i = 0u; i < VECS; i++) s += dot(v[i], xv[xb + i]);
        acc[t] += d * s;
      }
    }
    for (uint t = 0u; t < NT; t++) {
      if (t >= nt) break;
      float sum = subgroupAdd(acc[t]);
      if (subgroupElect()) y[pc.off[DST] + (t0 + t) * rows + row] = sum;
    }
  }
}
