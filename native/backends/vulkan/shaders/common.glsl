// Declarations every qinfer compute shader shares: the push constants (vk-ops.h PushConstants) and reductions.
#ifndef QINFER_COMMON_GLSL
#define QINFER_COMMON_GLSL

// off: operand offsets in 4-byte words (src0..src3, then dst); ne: the op's sizes; params: scalars.
layout(push_constant) uniform PushConstants {
  uint off[5];
  uint pad[3];
  uint ne[4];
  float params[4];
} pc;

#define DST 4

// Dispatches wider than the 65535-workgroup limit are folded into y (vk-context.cc).
uint workgroup_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// Workgroup-wide sum and max over `red`, a shared float[THREADS] the including shader declares
// (THREADS a power of two); every invocation gets the result.
#define QINFER_REDUCE(name, OP)                                        \
  float name(float v) {                                                \
    uint tid = gl_LocalInvocationID.x;                                 \
    red[tid] = v;                                                      \
    barrier();                                                         \
    for (uint s = THREADS / 2u; s > 0u; s >>= 1) {                     \
      if (tid < s) red[tid] = OP(red[tid], red[tid + s]);              \
      barrier();                                                       \
    }                                                                  \
    float r = red[0];                                                  \
    barrier();                                                         \
    return r;                                                          \
  }
#define QINFER_ADD(a, b) ((a) + (b))

#endif
