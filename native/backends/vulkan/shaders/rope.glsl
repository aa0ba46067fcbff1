// Rotary position embedding shared by rope.comp and rope-kv.comp; ne: head_dim, heads, tokens, n_dims; params:
// [0] theta scale (freq_base^(-2/n_dims), computed on the host as the CPU does), [1] freq_scale, [2] non-zero for
// NeoX pairs (i, i + n_dims/2), [3] YaRN ext_factor (0: off), [4] factor on cos and sin, [5], [6] YaRN's correction
// range (pair indices), [7] non-zero when the buffer `ff` holds per-pair frequency divisors (at pc.off[2]).
// Needs, before inclusion: a float buffer `ff`.
#ifndef QINFER_ROPE_GLSL
#define QINFER_ROPE_GLSL

// cos and sin, times params[4], of pair i's angle at position p.
vec2 rope_cos_sin(uint i, int p) {
  // theta_i = pos * scale^i as successive float products, the CPU's (and ggml's) order.
  precise float theta = float(p);
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
  return vec2(cos(r), sin(r)) * pc.params[4];
}

// The two dimensions pair i turns.
uvec2 rope_dims(uint i, uint half_dims) { return pc.params[2] != 0.0 ? uvec2(i, i + half_dims) : uvec2(2u * i, 2u * i + 1u); }

// The rotated pair (x0, x1).
vec2 rope_turn(vec2 cs, float x0, float x1) {
  precise float y0 = x0 * cs.x - x1 * cs.y, y1 = x0 * cs.y + x1 * cs.x;
  return vec2(y0, y1);
}

#endif
