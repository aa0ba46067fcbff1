// Declarations every qinfer compute shader shares: the push constants (vk-ops.h PushConstants) and the workgroup index.
#ifndef QINFER_COMMON_GLSL
#define QINFER_COMMON_GLSL

// off: operand offsets in 4-byte words (src0, src1, src2, dst); ne: the op's sizes; params: scalars.
layout(push_constant) uniform PushConstants {
  uint off[4];
  uint ne[4];
  float params[4];
} pc;

// Dispatches wider than the 65535-workgroup limit are folded into y (vk-context.cc).
uint workgroup_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

#endif
