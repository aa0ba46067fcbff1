// Rotary position embedding of x [tokens][heads][head_dim] (ne: head_dim, heads, tokens, n_dims); params:
// [0] theta scale (freq_base^(-2/n_dims), computed on the host as the CPU does), [1] freq_scale,
// [2] non-zero for NeoX pairs (i, i + n_dims/2), [3] YaRN ext_factor (0: off), [4] factor on cos and sin,
// [5], [6] YaRN's correction range (pair indices), [7] non-zero when src2 holds per-pair frequency divisors.
#version 450
#include "common.glsl"

#define THREADS 64u
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) readonly buffer Factors { float ff[]; };
layout(std430, binding = DST) writeonly buffer Y { float y[]; };

void main() {
  uint hd = pc.ne[0], heads = pc.ne[1], n_dims = pc.ne[3], half_dims = n_dims / 2u;
  uint wg = workgroup_index();
  if (wg >= heads * pc.ne[2]) return;
  uint t = wg / heads;
  uint xo = pc.off[0] + wg * hd, yo = pc.off[DST] + wg * hd;
  for (uint i = gl_LocalInvocationID.x; i < half_dims; i += THREADS) {
    // theta_i = pos * scale^i as successive float products, the CPU's (and ggml's) order.
    precise float theta = float(pos[pc.off[1] + t]);
    for (uint k = 0u; k < i; k++) theta *= pc.params[0];
    float f = pc.params[7] != 0.0 ? ff[pc.off[2] + i] : 1.0;
    precise float extrap = theta / f;
    precise float angle = pc.params[1] * extrap;
    if (pc.params[3] != 0.0) {
      // YaRN: pairs below the correction range keep their trained frequency, those above are interpolated.
      precise float ramp = (1.0 - clamp((float(i) - pc.params[5]) / max(0.001, pc.params[6] - pc.params[5]), 0.0, 1.0)) * pc.params[3];
      angle = angle * (1.0 - ramp) + extrap * ramp;
    }
    // Reduce to [-pi, pi] with 2*pi split in two (the first part exact in float for |k| < 2^15):
    // GPU sin/cos are only accurate near zero.
    float k2pi = round(angle * 0.15915494309189535);
    precise float r = (angle - k2pi * 6.28125) - k2pi * 1.9353071795864769e-3;
    float c = cos(r) * pc.params[4], s = sin(r) * pc.params[4];
    uint a = pc.params[2] != 0.0 ? i : 2u * i, b = pc.params[2] != 0.0 ? i + half_dims : 2u * i + 1u;
    float x0 = x[xo + a], x1 = x[xo + b];
    precise float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
    y[yo + a] = y0;
    y[yo + b] = y1;
  }
  for (uint i = n_dims + gl_LocalInvocationID.x; i < hd; i += THREADS) y[yo + i] = x[xo + i];
}
