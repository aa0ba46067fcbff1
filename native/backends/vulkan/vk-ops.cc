// Op planning for the Vulkan backend: bounds and alignment checks, then the shader variant and its launch size.
#include "vk-ops.h"

#include <string>

#include "backends/module-common.h"
#include "vk-context.h"

namespace qinfer::vk {
namespace {

using module::fail;

// Shaders index buffers as 32-bit words with 32-bit indices.
bool word_offset(uint64_t bytes, uint32_t *out) {
  if (bytes % 4 != 0 || bytes / 4 > UINT32_MAX) return false;
  *out = uint32_t(bytes / 4);
  return true;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

bool supports_op(int32_t op, int32_t type) {
  if (op == QINFER_OP_ADD_F32) return true;
  if (op == QINFER_OP_MATVEC) return type == QINFER_TYPE_F32;
  return false;
}

int plan_op(const qinfer_op &op, Dispatch *out) {
  if (!supports_op(op.op, op.type))
    return fail(QINFER_E_UNSUPPORTED, "op " + std::to_string(op.op) + " with type " + std::to_string(op.type) +
                                          " is not implemented by the Vulkan backend");
  std::string bad = module::op_bounds_error(op, [](qinfer_buffer *b) { return b->size; });
  if (!bad.empty()) return fail(QINFER_E_INVALID_ARGUMENT, bad);
  *out = Dispatch{};
  for (int i = 0; i < 3; i++) {
    out->buffers[i] = op.src[i];
    if (op.src[i] && !word_offset(op.src_offset[i], &out->pc.off[i]))
      return fail(QINFER_E_UNSUPPORTED, "Vulkan operands must start at a multiple of 4 bytes below 16 GiB");
  }
  out->buffers[3] = op.dst;
  if (!word_offset(op.dst_offset, &out->pc.off[3]))
    return fail(QINFER_E_UNSUPPORTED, "Vulkan operands must start at a multiple of 4 bytes below 16 GiB");
  for (int i = 0; i < 4; i++) {
    if (op.ne[i] > int64_t(UINT32_MAX)) return fail(QINFER_E_UNSUPPORTED, "Vulkan ops take at most 2^32-1 elements per dimension");
    out->pc.ne[i] = uint32_t(op.ne[i] > 0 ? op.ne[i] : 0);
    out->pc.params[i] = op.params[i];
  }
  switch (op.op) {
    case QINFER_OP_ADD_F32:
      out->shader = shaders::ADD_F32;
      out->workgroups = ceil_div(uint64_t(op.ne[0]), 256);
      break;
    case QINFER_OP_MATVEC:
      if (uint64_t(op.ne[0]) * uint64_t(op.ne[1]) + out->pc.off[0] > UINT32_MAX)
        return fail(QINFER_E_UNSUPPORTED, "Vulkan F32 matvec weights must be under 16 GiB");
      out->shader = shaders::MATVEC_F32;
      out->workgroups = uint64_t(op.ne[1]);
      break;
  }
  return QINFER_OK;
}

}  // namespace qinfer::vk
