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

// The matvec shader variant of each weight type (shaders/shaders.cmake), or COUNT when there is none.
shaders::Id matvec_shader(int32_t type) {
  switch (type) {
    case QINFER_TYPE_F32: return shaders::MATVEC_F32;
    case QINFER_TYPE_F16: return shaders::MATVEC_F16;
    case QINFER_TYPE_BF16: return shaders::MATVEC_BF16;
    case QINFER_TYPE_Q4_0: return shaders::MATVEC_Q4_0;
    case QINFER_TYPE_Q4_1: return shaders::MATVEC_Q4_1;
    case QINFER_TYPE_Q5_0: return shaders::MATVEC_Q5_0;
    case QINFER_TYPE_Q5_1: return shaders::MATVEC_Q5_1;
    case QINFER_TYPE_Q8_0: return shaders::MATVEC_Q8_0;
    case QINFER_TYPE_Q2_K: return shaders::MATVEC_Q2_K;
    case QINFER_TYPE_Q3_K: return shaders::MATVEC_Q3_K;
    case QINFER_TYPE_Q4_K: return shaders::MATVEC_Q4_K;
    case QINFER_TYPE_Q5_K: return shaders::MATVEC_Q5_K;
    case QINFER_TYPE_Q6_K: return shaders::MATVEC_Q6_K;
    case QINFER_TYPE_IQ4_NL: return shaders::MATVEC_IQ4_NL;
    case QINFER_TYPE_IQ4_XS: return shaders::MATVEC_IQ4_XS;
    default: return shaders::COUNT;
  }
}

}  // namespace

bool supports_op(int32_t op, int32_t type) {
  if (op == QINFER_OP_ADD_F32) return true;
  if (op == QINFER_OP_MATVEC) return matvec_shader(type) != shaders::COUNT;
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
    case QINFER_OP_MATVEC: {
      // F32 weights are indexed in words, the other formats in bytes, with 32-bit indices.
      uint64_t end = op.type == QINFER_TYPE_F32 ? out->pc.off[0] + uint64_t(op.ne[0]) * uint64_t(op.ne[1])
                                                : op.src_offset[0] + module::row_bytes(op.type, op.ne[0]) * uint64_t(op.ne[1]);
      if (end > UINT32_MAX) return fail(QINFER_E_UNSUPPORTED, "Vulkan matvec weights must end within 4 GiB (16 GiB for F32) of their buffer");
      out->shader = matvec_shader(op.type);
      out->workgroups = uint64_t(op.ne[1]);
      break;
    }
  }
  return QINFER_OK;
}

}  // namespace qinfer::vk
