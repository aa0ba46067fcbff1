// Op planning for the Vulkan backend: bounds and alignment checks, then the shader variant, push constants and launch size.
#include "vk-ops.h"

#include <algorithm>
#include <cmath>
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

// Matrix products and row lookups exist for these weight types (shaders/shaders.cmake), in this order.
constexpr int32_t kWeightTypes[] = {QINFER_TYPE_F32,  QINFER_TYPE_F16,  QINFER_TYPE_BF16, QINFER_TYPE_Q4_0,  QINFER_TYPE_Q4_1,
                                    QINFER_TYPE_Q5_0, QINFER_TYPE_Q5_1, QINFER_TYPE_Q8_0, QINFER_TYPE_Q2_K,  QINFER_TYPE_Q3_K,
                                    QINFER_TYPE_Q4_K, QINFER_TYPE_Q5_K, QINFER_TYPE_Q6_K, QINFER_TYPE_IQ4_NL, QINFER_TYPE_IQ4_XS};
constexpr int kWeightTypeCount = int(sizeof kWeightTypes / sizeof kWeightTypes[0]);
static_assert(shaders::MATMUL_COOPMAT_Q4_0 + kWeightTypeCount - 3 == shaders::MATMUL_F32,
              "shaders.cmake lists matmul_coopmat_<type> for kWeightTypes past F32, F16, BF16, just before matmul_f32");
static_assert(shaders::GET_ROWS_F32 == shaders::MATMUL_F32 + 1 && shaders::MATMUL_TILED_F32 == shaders::MATMUL_F32 + 2 &&
                  shaders::MATMUL_F16 == shaders::MATMUL_F32 + 3 &&
                  shaders::COUNT == shaders::MATMUL_F32 + 3 * kWeightTypeCount,
              "shaders.cmake lists matmul_<type>, get_rows_<type>, matmul_tiled_<type> triples in kWeightTypes order, last");

int weight_index(int32_t type) {
  for (int i = 0; i < kWeightTypeCount; i++)
    if (kWeightTypes[i] == type) return i;
  return -1;
}

shaders::Id matmul_shader(int32_t type) { return shaders::Id(shaders::MATMUL_F32 + 3 * weight_index(type)); }
shaders::Id get_rows_shader(int32_t type) { return shaders::Id(shaders::GET_ROWS_F32 + 3 * weight_index(type)); }
shaders::Id matmul_tiled_shader(int32_t type) { return shaders::Id(shaders::MATMUL_TILED_F32 + 3 * weight_index(type)); }

// Tokens from which a product runs tiled (matmul-tiled.comp: 64 x 64 tiles): below, the per-token shaders'
// weight reads per token cost less than the tiles' idle tokens. Float weights (F32, F16, BF16) always run tiled:
// every token count then sums in one order, so a token's result does not depend on the batch it came in (with an
// F16 cache, one rounding step of difference in K or V grew to 4e-5 of the largest logit on random models).
constexpr uint32_t kTiledMinTokens = 9;
constexpr uint32_t kTile = 64;
bool float_weights(int32_t type) { return type == QINFER_TYPE_F32 || type == QINFER_TYPE_F16 || type == QINFER_TYPE_BF16; }
// Quantized weights (weight_index 3 and up) from this many tokens run on the matrix units where the device has them
// (matmul-coopmat.comp, x rounded to f16). From 5 tokens as on CUDA: a sequence's prompt then takes the same path
// whether it comes alone or batched with others, and its results do not depend on the batch.
constexpr uint32_t kCoopmatMinTokens = 5;
shaders::Id matmul_coopmat_shader(int32_t type) { return shaders::Id(shaders::MATMUL_COOPMAT_Q4_0 + weight_index(type) - 3); }

}  // namespace

bool supports_op(int32_t op, int32_t type) {
  switch (op) {
    case QINFER_OP_ADD_F32:
    case QINFER_OP_RMS_NORM:
    case QINFER_OP_ROPE:
    case QINFER_OP_SOFTMAX:
    case QINFER_OP_SILU_MUL:
    case QINFER_OP_ARGMAX: return true;
    case QINFER_OP_MATVEC:
    case QINFER_OP_MATMUL:
    case QINFER_OP_GET_ROWS: return weight_index(type) >= 0;
    case QINFER_OP_ATTENTION:
    case QINFER_OP_KV_STORE: return type == QINFER_TYPE_F32 || type == QINFER_TYPE_F16;
    case QINFER_OP_ADD_ROWS:
    case QINFER_OP_COPY: return true;
    default: return false;
  }
}

int plan_op(const qinfer_op &op, bool coopmat, Dispatch *out) {
  if (!supports_op(op.op, op.type))
    return fail(QINFER_E_UNSUPPORTED, "op " + std::to_string(op.op) + " with type " + std::to_string(op.type) +
                                          " is not implemented by the Vulkan backend");
  std::string bad = module::op_bounds_error(op, [](qinfer_buffer *b) { return b->size; });
  if (!bad.empty()) return fail(QINFER_E_INVALID_ARGUMENT, bad);
  *out = Dispatch{};
  const char *misaligned = "Vulkan operands must start at a multiple of 4 bytes below 16 GiB";
  for (int i = 0; i < 4; i++) {
    out->buffers[i] = op.src[i];
    if (op.src[i] && !word_offset(op.src_offset[i], &out->pc.off[i])) return fail(QINFER_E_UNSUPPORTED, misaligned);
  }
  out->buffers[kDst] = op.dst;
  if (!word_offset(op.dst_offset, &out->pc.off[kDst])) return fail(QINFER_E_UNSUPPORTED, misaligned);
  for (int i = 0; i < 4; i++) {
    if (op.ne[i] > int64_t(UINT32_MAX)) return fail(QINFER_E_UNSUPPORTED, "Vulkan ops take at most 2^32-1 elements per dimension");
    out->pc.ne[i] = uint32_t(op.ne[i] > 0 ? op.ne[i] : 0);
  }
  for (int i = 0; i < 8; i++) out->pc.params[i] = op.params[i];
  const uint64_t n0 = out->pc.ne[0], n1 = out->pc.ne[1], n2 = out->pc.ne[2];
  switch (op.op) {
    case QINFER_OP_ADD_F32:
      out->shader = shaders::ADD_F32;
      out->workgroups = (n0 + 255) / 256;
      break;
    case QINFER_OP_MATVEC:
    case QINFER_OP_MATMUL:
    case QINFER_OP_GET_ROWS: {
      // Weights are addressed in bytes with 32-bit indices.
      if (op.src_offset[0] + module::row_bytes(op.type, op.ne[0]) * n1 > UINT32_MAX)
        return fail(QINFER_E_UNSUPPORTED, "Vulkan weights must end within 4 GiB of their buffer's start");
      if (op.op == QINFER_OP_MATVEC) out->pc.ne[2] = 1;
      out->shader = op.op == QINFER_OP_GET_ROWS ? get_rows_shader(op.type) : matmul_shader(op.type);
      out->workgroups = op.op == QINFER_OP_GET_ROWS ? n2 : n1 * out->pc.ne[2];
      if (op.op != QINFER_OP_GET_ROWS && coopmat && !float_weights(op.type) && out->pc.ne[2] >= kCoopmatMinTokens) {
        out->shader = matmul_coopmat_shader(op.type);
        out->workgroups = (n1 + kTile - 1) / kTile * ((out->pc.ne[2] + kTile - 1) / kTile);
      } else if (op.op != QINFER_OP_GET_ROWS && (out->pc.ne[2] >= kTiledMinTokens || float_weights(op.type))) {
        out->shader = matmul_tiled_shader(op.type);
        out->workgroups = (n1 + kTile - 1) / kTile * ((out->pc.ne[2] + kTile - 1) / kTile);
      } else if (op.op != QINFER_OP_GET_ROWS && out->pc.off[1] % 4 == 0 && (op.type == QINFER_TYPE_Q4_0 || op.type == QINFER_TYPE_Q8_0)) {
        // Q4_0/Q8_0 with x on a 16-byte boundary: matvec.comp, up to 8 tokens per pass, rows per workgroup (a multiple
        // of 4, at most 64) for about 512 workgroups a pass, so that each workgroup's copy of x serves many rows.
        out->shader = op.type == QINFER_TYPE_Q4_0 ? shaders::MATVEC_Q4_0 : shaders::MATVEC_Q8_0;
        const uint64_t per_wg = std::min<uint64_t>(64, std::max<uint64_t>(4, ((n1 + 511) / 512 + 3) / 4 * 4));
        const uint64_t pass = std::min<uint64_t>(8, out->pc.ne[2]);
        out->pc.ne[3] = uint32_t(per_wg);
        out->pc.params[3] = int64_t(pass * n0) <= kMatvecStagedMax ? 1.0f : 0.0f;
        out->workgroups = (n1 + per_wg - 1) / per_wg * ((out->pc.ne[2] + 7) / 8);
      }
      break;
    }
    case QINFER_OP_RMS_NORM:
      out->shader = shaders::RMS_NORM;
      out->pc.ne[2] = op.src[1] ? 1 : 0;
      out->workgroups = n1;
      break;
    case QINFER_OP_ROPE:
      // The frequency step computed exactly as the CPU does (ops-elementwise.cc), not by the GPU's pow.
      out->shader = shaders::ROPE;
      out->pc.params[0] = std::pow(op.params[0], -2.0f / float(op.ne[3]));
      out->pc.params[7] = op.src[2] ? 1.0f : 0.0f;
      out->workgroups = n1 * n2;
      break;
    case QINFER_OP_SOFTMAX:
      out->shader = shaders::SOFTMAX;
      out->workgroups = n1;
      break;
    case QINFER_OP_SILU_MUL:
      out->shader = shaders::SILU_MUL;
      out->workgroups = (n0 + 255) / 256;
      break;
    case QINFER_OP_ARGMAX:
      out->shader = shaders::ARGMAX;
      out->workgroups = n1;
      break;
    case QINFER_OP_ATTENTION:
      if (op.ne[0] > 256) return fail(QINFER_E_UNSUPPORTED, "Vulkan attention takes heads of at most 256 dimensions");
      if (op.params[1] > float(1 << 24)) return fail(QINFER_E_UNSUPPORTED, "Vulkan attention takes caches of at most 2^24 positions");
      out->shader = op.type == QINFER_TYPE_F16 ? shaders::ATTENTION_F16 : shaders::ATTENTION_F32;
      out->workgroups = n1 * n2;
      {
        // The cache read as 4-element vectors: whole rows of them, starting on a vector's boundary.
        const uint32_t words4 = op.type == QINFER_TYPE_F16 ? 2 : 4;
        out->pc.params[2] = op.ne[0] % 4 == 0 && out->pc.off[1] % words4 == 0 && out->pc.off[2] % words4 == 0 ? 1.0f : 0.0f;
      }
      break;
    case QINFER_OP_KV_STORE:
      if (op.type == QINFER_TYPE_F16 && op.ne[0] % 2) return fail(QINFER_E_UNSUPPORTED, "Vulkan stores F16 cache rows of an even head size only");
      out->shader = op.type == QINFER_TYPE_F16 ? shaders::KV_STORE_F16 : shaders::KV_STORE_F32;
      out->workgroups = n1 * n2;
      break;
    case QINFER_OP_ADD_ROWS:
      out->shader = shaders::ADD_ROWS;
      out->workgroups = (n0 * n1 + 255) / 256;
      break;
    case QINFER_OP_COPY:
      out->shader = shaders::COPY;
      out->workgroups = (n0 / 4 * n1 + 255) / 256;
      break;
  }
  return QINFER_OK;
}

}  // namespace qinfer::vk
