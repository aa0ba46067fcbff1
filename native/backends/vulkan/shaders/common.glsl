// Declarations every qinfer compute shader shares: the push constants (vk-ops.h PushConstants) and reductions.
#ifndef QINFER_COMMON_GLSL
#define QINFER_COMMON_GLSL

#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

// off: operand offsets in 4-byte words by binding (src0..src3, dst, then the extra operands of fused
// dispatches); ne: the op's sizes; params: scalars; extra: sizes of fused dispatches beyond the op's own.
layout(push_constant) uniform PushConstants {
  uint off[8];
  uint ne[4];
  float params[8];
  uint extra[4];
} pc;

#define DST 4

// Dispatches wider than the 65535-workgroup limit are folded into y (vk-context.cc).
uint workgroup_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// Workgroup-wide reductions: within each subgroup first, then across the subgroups through `red`, a
// shared float[THREADS] the including shader declares; every invocation gets the result.
// Devices without subgroup arithmetic in compute shaders are not used (vk-caps.h usable()).
#define QINFER_REDUCE(name, OP, SUBGROUP_OP)                  \
  float name(float v) {                                       \
    v = SUBGROUP_OP(v);                                       \
    if (subgroupElect()) red[gl_SubgroupID] = v;              \
    barrier();                                                \
    float r = red[0];                                         \
    for (uint i = 1u; i < gl_NumSubgroups; i++) r = OP(r, red[i]); \
    barrier();                                                \
    return r;                                                 \
  }
#define QINFER_ADD(a, b) ((a) + (b))

#endif
