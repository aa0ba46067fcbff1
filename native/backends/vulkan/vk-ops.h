// Turns backend ops into shader dispatches: which shader variant, which buffers, which push constants, how many workgroups.
#pragma once

#include <cstdint>

#include "qinfer/backend.h"
#include "vk-caps.h"
#include "vk-shaders.h"

namespace qinfer::vk {

// Mirrors `PushConstants` in shaders/common.glsl.
constexpr int kBindings = 8;  // src0..src3, dst, then 3 more operands of fused dispatches (vk-fuse.h)
constexpr int kDst = 4;

struct PushConstants {
  uint32_t off[kBindings];  // operand offsets in 4-byte words, by binding
  uint32_t ne[4];
  float params[8];
  uint32_t extra[4];  // sizes of fused dispatches beyond the op's own
};
static_assert(sizeof(PushConstants) == 96, "shaders/common.glsl declares 96 bytes of push constants (at most 128 anywhere)");

struct Dispatch {
  shaders::Id shader;
  qinfer_buffer *buffers[kBindings];  // a null slot is bound to dst (the shader does not use it)
  PushConstants pc;
  uint64_t workgroups;  // folded into x/y by the context
};

// matvec.comp copies a pass's x (up to 8 tokens) into shared memory when it has at most this many elements.
constexpr int64_t kMatvecStagedMax = 6144;

bool supports_op(int32_t op, int32_t type);

// Fills `out` for `op`; `coopmat`: the device runs matmul-coopmat.comp (Context::coopmat()). On failure returns a
// qinfer_status and sets the module's last error.
int plan_op(const qinfer_op &op, bool coopmat, Dispatch *out);

}  // namespace qinfer::vk
