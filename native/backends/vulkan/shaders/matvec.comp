// Decode matrix-vector product for Q4_0 / Q8_0 (TYPE_*): y[r] = dot(W row r, x); ne: cols, rows. Each subgroup takes
// one row at a time (ROWS per workgroup), its lanes whole 32-element blocks read as 32-bit words and x as vec4,
// reduced with subgroupAdd: no barriers, and the weight bytes of a row are read once, side by side.
// x must start on a 16-byte boundary (vk-ops.cc picks matmul.comp otherwise).
#version 450
#include "common.glsl"
#include "block-layouts.glsl"

#define THREADS 128u
#define ROWS 4u
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

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1], blocks = cols / 32u;
  uint x4 = pc.off[1] / 4u;
  for (uint r = gl_SubgroupID; r < ROWS; r += gl_NumSubgroups) {
    uint row = workgroup_index() * ROWS + r;
    if (row >= rows) break;  // uniform across the subgroup
    uint row0 = pc.off[0] * 4u + row * blocks * BYTES;
    float acc = 0.0;
    for (uint b = gl_SubgroupInvocationID; b < blocks; b += gl_SubgroupSize) {
      // Blocks start on even bytes: the scale sits in the low or the high half of the first word.
      uint at = row0 + b * BYTES, w = at >> 2;
      bool high = (at & 2u) != 0u;
      uint w0 = wq[w];
      float d = unpackHalf2x16(high ? w0 >> 16 : w0).x;
      uint prev = w0;
      float s = 0.0;
      uint xb = x4 + b * 8u;
      for (uint i = 0u; i < QWORDS; i++) {
        uint next = wq[w + 1u + i];
        uint q = high ? next : (prev >> 16) | (next << 16);
        prev = next;
#if defined(TYPE_Q4_0)
        vec4 lo = vec4(q & 0xFu, (q >> 8) & 0xFu, (q >> 16) & 0xFu, (q >> 24) & 0xFu) - 8.0;
        vec4 hi = vec4((q >> 4) & 0xFu, (q >> 12) & 0xFu, (q >> 20) & 0xFu, q >> 28) - 8.0;
        s += dot(lo, xv[xb + i]) + dot(hi, xv[xb + 4u + i]);
#else
        int v = int(q);
        s += dot(vec4(bitfieldExtract(v, 0, 8), bitfieldExtract(v, 8, 8), bitfieldExtract(v, 16, 8), bitfieldExtract(v, 24, 8)), xv[xb + i]);
#endif
      }
      acc += d * s;
    }
    acc = subgroupAdd(acc);
    if (subgroupElect()) y[pc.off[DST] + row] = acc;
  }
}
