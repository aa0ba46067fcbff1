// Causal grouped-query attention over a head-major KV cache of type KV_F32 or KV_F16 ([kv heads][stride][head_dim]):
// q (src0) and dst [tokens][heads][head_dim], K (src1), V (src2), src3 int32 per token: positions it sees.
// ne: head_dim (<= 256), heads, tokens, kv heads; params: [0] score scale, [1] stride. One workgroup per
// (token, head) walks the positions in tiles with a running (online) softmax.
#version 450
#include "common.glsl"

#define THREADS 64u
#define MAX_DIM 256u
#define DIMS_PER_THREAD (MAX_DIM / THREADS)
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Q { float qv[]; };
layout(std430, binding = 1) readonly buffer K { uint kq[]; };
layout(std430, binding = 2) readonly buffer V { uint vq[]; };
layout(std430, binding = 3) readonly buffer NKv { int nkv[]; };
layout(std430, binding = DST) writeonly buffer Out { float o[]; };

shared float red[THREADS];
shared float qs[MAX_DIM];
shared float e[THREADS];
QINFER_REDUCE(workgroup_sum, QINFER_ADD, subgroupAdd)
QINFER_REDUCE(workgroup_max, max, subgroupMax)

#if defined(KV_F16)
float kv_at(uint word0, uint row, uint d, uint hd, bool is_v) {
  uint b = word0 * 4u + (row * hd + d) * 2u;
  uint w = is_v ? vq[b >> 2] : kq[b >> 2];
  return unpackHalf2x16(w >> ((b & 2u) << 3)).x;
}

#else
float kv_at(uint word0, uint row, uint d, uint hd, bool is_v) {
  uint w = word0 + row * hd + d;
  return uintBitsToFloat(is_v ? vq[w] : kq[w]);
}
#endif

void main() {
  uint hd = pc.ne[0], heads = pc.ne[1], kv_heads = pc.ne[3], stride = uint(pc.params[1]);
  uint wg = workgroup_index();
  if (wg >= heads * pc.ne[2]) return;
  uint t = wg / heads, h = wg % heads, tid = gl_LocalInvocationID.x;
  uint kv_row0 = (h / (heads / kv_heads)) * stride;
  uint n_kv = uint(clamp(nkv[pc.off[3] + t], 1, int(stride)));
  for (uint d = tid; d < hd; d += THREADS) qs[d] = qv[pc.off[0] + wg * hd + d];
  barrier();

  float m = uintBitsToFloat(0xFF800000u), l = 0.0;
  float acc[DIMS_PER_THREAD];
  for (uint k = 0u; k < DIMS_PER_THREAD; k++) acc[k] = 0.0;
  for (uint start = 0u; start < n_kv; start += THREADS) {
    uint p = start + tid;
    float s = uintBitsToFloat(0xFF800000u);
    if (p < n_kv) {
      float dot = 0.0;
      for (uint d = 0u; d < hd; d++) dot += qs[d] * kv_at(pc.off[1], kv_row0 + p, d, hd, false);
      s = dot * pc.params[0];
    }
    float m_new = max(m, workgroup_max(s));
    e[tid] = p < n_kv ? exp(s - m_new) : 0.0;
    float corr = exp(m - m_new);
    l = l * corr + workgroup_sum(e[tid]);  // its barriers also publish e[]
    uint n = min(THREADS, n_kv - start);
    for (uint k = 0u; k < DIMS_PER_THREAD; k++) {
      uint d = tid + k * THREADS;
      if (d >= hd) break;
      float a = acc[k] * corr;
      for (uint j = 0u; j < n; j++) a += e[j] * kv_at(pc.off[2], kv_row0 + start + j, d, hd, true);
      acc[k] = a;
    }
    m = m_new;
    barrier();  // e[] is rewritten by the next tile
  }
  for (uint k = 0u; k < DIMS_PER_THREAD; k++) {
    uint d = tid + k * THREADS;
    if (d < hd) o[pc.off[DST] + wg * hd + d] = acc[k] / l;
  }
}
