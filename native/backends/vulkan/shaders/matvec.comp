// Q4_0 / Q8_0 (TYPE_*) products with up to NT tokens per pass: y[t][r] = dot(W row r, x[t]); ne: cols, rows, tokens,
// rows per workgroup (a multiple of 4, vk-ops.cc: about 512 workgroups per pass). Workgroup i covers ne[3] rows of
// token pass i / row groups. When the pass's x fits (at most STAGED elements: params[3] != 0) the workgroup first
// copies it into shared memory, so that the lanes' reads of x cost no uncoalesced global loads; each subgroup then
// takes one row at a time, its lanes whole 32-element blocks read as 32-bit words and decoded once for all the pass's
// tokens; sums are reduced with subgroupAdd. x must start on a 16-byte boundary (vk-ops.cc picks matmul.comp
// otherwise). Loops over tokens and a block's words have constant trip counts and are unrolled, so that acc[], v[]
// and scale[] are indexed by constants and stay in registers.
// FUSED (vk-fuse.cc): with params[0] != 0, the staged x is computed from binding 1 as the op before the product would
// (1 RMSNorm with the weight at binding 2, 2 RMSNorm without, 3 SiLU(binding 1) * binding 2), and the first row
// group's workgroups also store it at binding 3 (16-byte aligned like binding 2); with params[2] != 0 the lane that
// writes y[t][r] also writes binding 6 = binding 5 + y (a residual add).
#version 450
#include "common.glsl"
#include "block-layouts.glsl"

#define THREADS 128u
#define NT 8u
#define STAGED 6144u  // vk-ops.h kMatvecStagedMax
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer Weights { uint wq[]; };
layout(std430, binding = 1) readonly buffer X { vec4 xv[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };
#ifdef FUSED
layout(std430, binding = 2) readonly buffer A2 { vec4 a2[]; };
layout(std430, binding = 3) writeonly buffer PreOut { vec4 pre_out[]; };
layout(std430, binding = 5) readonly buffer Res { float res[]; };
layout(std430, binding = 6) writeonly buffer Sum { float sum_out[]; };
shared float red[NT * THREADS];  // per-subgroup partial sums of squares
#endif
// The pass's x as vec4s, token after token, with a pad vec4 after each block's 8 so that lanes reading
// consecutive blocks hit different banks.
shared vec4 xs[STAGED / 4u + STAGED / 32u];

#if defined(TYPE_Q4_0)
#define BYTES Q4_0_BYTES
#define QWORDS 4u
#else
#define BYTES Q8_0_BYTES
#define QWORDS 8u
#endif
#define VECS 8u  // a block's 32 weights as vec4s, in x's order

// Vec4 c4 of token t's x (vec4 index e4 into binding 1); FUSED: as the fused op computes it, with the formulas and
// rounding of rms-norm.comp and silu-mul.comp.
vec4 x_in(uint mode, uint e4, uint t, uint c4, uint xrow, float scale) {
  vec4 v = xv[e4];
#ifdef FUSED
  if (mode == 3u) return v / (1.0 + exp(-v)) * a2[pc.off[2] / 4u + t * xrow + c4];
  if (mode != 0u) {
    precise vec4 n = v * scale;
    return mode == 1u ? n * a2[pc.off[2] / 4u + c4] : n;
  }
#endif
  return v;
}

void main() {
  uint cols = pc.ne[0], rows = pc.ne[1], tokens = max(pc.ne[2], 1u), per_wg = pc.ne[3], blocks = cols / 32u;
  uint groups = (rows + per_wg - 1u) / per_wg, wg = workgroup_index();
  uint t0 = (wg / groups) * NT, nt = min(NT, tokens - t0);
  uint x4 = pc.off[1] / 4u, xrow = cols / 4u, srow = xrow + xrow / 8u;
  bool staged = pc.params[3] != 0.0;
  uint mode = 0u;
  float scale[NT];
  [[unroll]] for (uint t = 0u; t < NT; t++) scale[t] = 1.0;
#ifdef FUSED
  mode = uint(pc.params[0]);
  if (mode == 1u || mode == 2u) {
    // Every workgroup sums the squares of its pass's rows of x (from L2) rather than wait for another's.
    float ss[NT];
    [[unroll]] for (uint t = 0u; t < NT; t++) ss[t] = 0.0;
    for (uint c4 = gl_LocalInvocationID.x; c4 < xrow; c4 += THREADS)
      [[unroll]] for (uint t = 0u; t < NT; t++) {
        if (t >= nt) continue;
        vec4 v = xv[x4 + (t0 + t) * xrow + c4];
        ss[t] += dot(v, v);
      }
    [[unroll]] for (uint t = 0u; t < NT; t++) {
      float s = subgroupAdd(ss[t]);
      if (subgroupElect()) red[gl_SubgroupID * NT + t] = s;
    }
    barrier();
    [[unroll]] for (uint t = 0u; t < NT; t++) {
      float total = 0.0;
      for (uint i = 0u; i < gl_NumSubgroups; i++) total += red[i * NT + t];
      scale[t] = 1.0 / sqrt(total / float(cols) + pc.params[1]);
    }
  }
  bool store = mode != 0u && wg % groups == 0u;
#endif
  if (staged) {
    for (uint c4 = gl_LocalInvocationID.x; c4 < xrow; c4 += THREADS)
      [[unroll]] for (uint t = 0u; t < NT; t++) {
        if (t >= nt) continue;
        vec4 v = x_in(mode, x4 + (t0 + t) * xrow + c4, t0 + t, c4, xrow, scale[t]);
        xs[t * srow + c4 + c4 / 8u] = v;
#ifdef FUSED
        if (store) pre_out[pc.off[3] / 4u + (t0 + t) * xrow + c4] = v;
#endif
      }
    barrier();
  }
  for (uint r = gl_SubgroupID; r < per_wg; r += gl_NumSubgroups) {
    uint row = (wg % groups) * per_wg + r;
    if (row >= rows) break;  // uniform across the subgroup
    uint row0 = pc.off[0] * 4u + row * blocks * BYTES;
    float acc[NT];
    [[unroll]] for (uint t = 0u; t < NT; t++) acc[t] = 0.0;
    for (uint b = gl_SubgroupInvocationID; b < blocks; b += gl_SubgroupSize) {
      // Blocks start on even bytes: the scale sits in the low or the high half of the first word.
      uint at = row0 + b * BYTES, w = at >> 2;
      bool high = (at & 2u) != 0u;
      uint prev = wq[w];
      float d = unpackHalf2x16(high ? prev >> 16 : prev).x;
      vec4 v[VECS];
      [[unroll]] for (uint i = 0u; i < QWORDS; i++) {
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
      [[unroll]] for (uint t = 0u; t < NT; t++) {
        if (t >= nt) continue;
        float s = 0.0;
        if (staged) {
          uint sb = t * srow + b * (VECS + 1u);
          [[unroll]] for (uint i = 0u; i < VECS; i++) s += dot(v[i], xs[sb + i]);
        } else {
          uint xb = x4 + (t0 + t) * xrow + b * VECS;
          [[unroll]] for (uint i = 0u; i < VECS; i++) s += dot(v[i], xv[xb + i]);
        }
        acc[t] += d * s;
      }
    }
    [[unroll]] for (uint t = 0u; t < NT; t++) {
      if (t >= nt) continue;
      float sum = subgroupAdd(acc[t]);
      if (subgroupElect()) {
        uint o = (t0 + t) * rows + row;
        y[pc.off[DST] + o] = sum;
#ifdef FUSED
        if (pc.params[2] != 0.0) sum_out[pc.off[6] + o] = res[pc.off[5] + o] + sum;
#endif
      }
    }
  }
}
