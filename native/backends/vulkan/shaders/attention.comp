// Causal grouped-query attention over a head-major KV cache of type KV_F32 or KV_F16 ([kv heads][stride][head_dim]):
// q (src0) and dst [tokens][heads][head_dim], K (src1), V (src2), src3 int32 per token: positions it sees.
// ne: head_dim (<= 256), heads, tokens, kv heads; params: [0] score scale, [1] stride. One workgroup per
// (token, head) walks the positions in tiles of THREADS with a running (online) softmax: a thread per position
// scores it (K read 4 dimensions at a time), then the workgroup splits into GROUPS groups of head_dim / 4 threads,
// group g adding the tile's positions g, g + GROUPS, ... to its 4 dimensions; the groups' sums meet at the end.
// Dimensions are read 4 at a time as whole words when the rows allow (vk-ops.cc sets params[2]), else one by one.
#version 450
#include "common.glsl"

#define THREADS 128u
#define MAX_DIM 256u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Q { float qv[]; };
layout(std430, binding = 1) readonly buffer K { uint kq[]; };
layout(std430, binding = 2) readonly buffer V { uint vq[]; };
#if defined(KV_F16)
layout(std430, binding = 1) readonly buffer K4 { uvec2 kq4[]; };
layout(std430, binding = 2) readonly buffer V4 { uvec2 vq4[]; };
#else
layout(std430, binding = 1) readonly buffer K4 { uvec4 kq4[]; };
layout(std430, binding = 2) readonly buffer V4 { uvec4 vq4[]; };
#endif
layout(std430, binding = 3) readonly buffer NKv { int nkv[]; };
layout(std430, binding = DST) writeonly buffer Out { float o[]; };

shared float red[THREADS];
shared vec4 qs[MAX_DIM / 4u];
shared float e[THREADS];
shared vec4 part[THREADS];
QINFER_REDUCE(workgroup_sum, QINFER_ADD, subgroupAdd)
QINFER_REDUCE(workgroup_max, max, subgroupMax)

float kv_one(bool is_v, uint word0, uint i) {
#if defined(KV_F16)
  uint b = word0 * 4u + i * 2u;
  uint w = is_v ? vq[b >> 2] : kq[b >> 2];
  return unpackHalf2x16(w >> ((b & 2u) << 3)).x;
#else
  return uintBitsToFloat(is_v ? vq[word0 + i] : kq[word0 + i]);
#endif
}

// Dimensions 4 * d4 .. 4 * d4 + 3 of cache row `row` (element index row * hd); zeros past hd.
vec4 kv4(bool is_v, bool whole, uint word0, uint row, uint d4, uint hd) {
  if (whole) {
#if defined(KV_F16)
    uvec2 w = is_v ? vq4[word0 / 2u + row * (hd / 4u) + d4] : kq4[word0 / 2u + row * (hd / 4u) + d4];
    return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
#else
    uvec4 w = is_v ? vq4[word0 / 4u + row * (hd / 4u) + d4] : kq4[word0 / 4u + row * (hd / 4u) + d4];
    return uintBitsToFloat(w);
#endif
  }
  vec4 r = vec4(0.0);
  [[unroll]] for (uint c = 0u; c < 4u; c++)
    if (4u * d4 + c < hd) r[c] = kv_one(is_v, word0, row * hd + 4u * d4 + c);
  return r;
}

void main() {
  uint hd = pc.ne[0], heads = pc.ne[1], kv_heads = pc.ne[3], stride = uint(pc.params[1]);
  bool whole = pc.params[2] != 0.0;
  uint wg = workgroup_index();
  if (wg >= heads * pc.ne[2]) return;
  uint t = wg / heads, h = wg % heads, tid = gl_LocalInvocationID.x;
  uint kv_row0 = (h / (heads / kv_heads)) * stride;
  uint n_kv = uint(clamp(nkv[pc.off[3] + t], 1, int(stride)));
  uint d4s = (hd + 3u) / 4u;               // vec4s per row
  uint groups = THREADS / d4s;             // position groups of the V sum (>= 2: hd <= 256)
  uint g = tid / d4s, d4 = tid % d4s;
  for (uint d = tid; d < d4s; d += THREADS) {
    vec4 qv4 = vec4(0.0);
    [[unroll]] for (uint c = 0u; c < 4u; c++)
      if (4u * d + c < hd) qv4[c] = qv[pc.off[0] + wg * hd + 4u * d + c];
    qs[d] = qv4;
  }
  barrier();

  float m = uintBitsToFloat(0xFF800000u), l = 0.0;
  vec4 acc = vec4(0.0);
  for (uint start = 0u; start < n_kv; start += THREADS) {
    uint p = start + tid;
    float s = uintBitsToFloat(0xFF800000u);
    if (p < n_kv) {
      // Four reads in flight at a time rather than one.
      vec4 dot4 = vec4(0.0);
      uint i = 0u;
      for (; i + 4u <= d4s; i += 4u) {
        vec4 k0 = kv4(false, whole, pc.off[1], kv_row0 + p, i, hd), k1 = kv4(false, whole, pc.off[1], kv_row0 + p, i + 1u, hd);
        vec4 k2 = kv4(false, whole, pc.off[1], kv_row0 + p, i + 2u, hd), k3 = kv4(false, whole, pc.off[1], kv_row0 + p, i + 3u, hd);
        dot4 += qs[i] * k0 + qs[i + 1u] * k1 + qs[i + 2u] * k2 + qs[i + 3u] * k3;
      }
      for (; i < d4s; i++) dot4 += qs[i] * kv4(false, whole, pc.off[1], kv_row0 + p, i, hd);
      s = (dot4.x + dot4.y + dot4.z + dot4.w) * pc.params[0];
    }
    float m_new = max(m, workgroup_max(s));
    e[tid] = p < n_kv ? exp(s - m_new) : 0.0;
    float corr = exp(m - m_new);
    l = l * corr + workgroup_sum(e[tid]);  // its barriers also publish e[]
    acc *= corr;
    uint n = min(THREADS, n_kv - start);
    if (g < groups) {
      // Four V rows in flight at a time.
      uint j = g;
      for (; j + 3u * groups < n; j += 4u * groups) {
        vec4 v0 = kv4(true, whole, pc.off[2], kv_row0 + start + j, d4, hd);
        vec4 v1 = kv4(true, whole, pc.off[2], kv_row0 + start + j + groups, d4, hd);
        vec4 v2 = kv4(true, whole, pc.off[2], kv_row0 + start + j + 2u * groups, d4, hd);
        vec4 v3 = kv4(true, whole, pc.off[2], kv_row0 + start + j + 3u * groups, d4, hd);
        acc += e[j] * v0 + e[j + groups] * v1 + e[j + 2u * groups] * v2 + e[j + 3u * groups] * v3;
      }
      for (; j < n; j += groups) acc += e[j] * kv4(true, whole, pc.off[2], kv_row0 + start + j, d4, hd);
    }
    m = m_new;
    barrier();  // e[] is rewritten by the next tile
  }
  part[tid] = acc;
  barrier();
  if (tid < d4s) {
    vec4 sum = part[tid];
    for (uint k = 1u; k < groups; k++) sum += part[k * d4s + tid];
    sum /= l;
    [[unroll]] for (uint c = 0u; c < 4u; c++)
      if (4u * tid + c < hd) o[pc.off[DST] + wg * hd + 4u * tid + c] = sum[c];
  }
}
