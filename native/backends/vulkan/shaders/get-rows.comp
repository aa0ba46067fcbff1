// dst[i] = row ids[i] of a table in the format picked by TYPE_*, as F32; ne: cols, rows, ids. An id outside
// the table gives a row of NaN (the CPU backend refuses it; a shader cannot).
#version 450
#include "common.glsl"

#define THREADS 64u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Table { uint wq[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = DST) writeonly buffer Out { float y[]; };

#include "dequant.glsl"

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1];
  uint i = workgroup_index();
  if (i >= pc.ne[2]) return;
  int id = ids[pc.off[1] + i];
  uint out0 = pc.off[DST] + i * cols;
  uint chunks = (cols + 31u) / 32u;
  for (uint c = gl_LocalInvocationID.x; c < chunks; c += THREADS) {
    float v[32];
    if (id >= 0 && uint(id) < rows) chunk_values(pc.off[0] * 4u + uint(id) * row_bytes(cols), c, cols, v);
    else for (uint j = 0u; j < 32u; j++) v[j] = uintBitsToFloat(0x7FC00000u);
    uint n = min(32u, cols - 32u * c);
    for (uint j = 0u; j < n; j++) y[out0 + 32u * c + j] = v[j];
  }
}
