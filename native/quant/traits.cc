// The table from ggml type id to reference functions: the CPU backend, the quantizer and the tests all
// reach the formats through it.
#include "formats.h"
#include "lowbit.h"
#include "reference.h"

namespace qinfer::quant {
namespace {

#define QINFER_WEIGHT_FORMAT(TYPE, fmt, ACT) \
  {TYPE, nullptr, 0, 0, quantize_##fmt, quantize_##fmt##_weighted, dequantize_##fmt, vec_dot_##fmt, ACT}
#define QINFER_ACT_FORMAT(TYPE, fmt) {TYPE, nullptr, 0, 0, quantize_##fmt, nullptr, dequantize_##fmt, nullptr, -1}

// Names and geometry come from the ggml table at first use, so the two never disagree.
QuantTraits kTable[] = {
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_F32, f32, QINFER_TYPE_F32),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_F16, f16, QINFER_TYPE_F16),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_BF16, bf16, QINFER_TYPE_BF16),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q4_0, q4_0, QINFER_TYPE_Q8_0),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q4_1, q4_1, QINFER_TYPE_Q8_1),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q5_0, q5_0, QINFER_TYPE_Q8_0),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q5_1, q5_1, QINFER_TYPE_Q8_1),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q8_0, q8_0, QINFER_TYPE_Q8_0),
    QINFER_ACT_FORMAT(QINFER_TYPE_Q8_1, q8_1),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q2_K, q2_k, QINFER_TYPE_Q8_K),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q3_K, q3_k, QINFER_TYPE_Q8_K),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q4_K, q4_k, QINFER_TYPE_Q8_K),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q5_K, q5_k, QINFER_TYPE_Q8_K),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q6_K, q6_k, QINFER_TYPE_Q8_K),
    QINFER_ACT_FORMAT(QINFER_TYPE_Q8_K, q8_k),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_IQ4_NL, iq4_nl, QINFER_TYPE_Q8_0),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_IQ4_XS, iq4_xs, QINFER_TYPE_Q8_K),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q3_32, q3_32, QINFER_TYPE_Q8_0),
    QINFER_WEIGHT_FORMAT(QINFER_TYPE_Q2_32, q2_32, QINFER_TYPE_Q8_0),
};

#undef QINFER_WEIGHT_FORMAT
#undef QINFER_ACT_FORMAT

const QuantTraits *const *build_index() {
  static const QuantTraits *index[QINFER_TYPE_SLOT_COUNT] = {};
  for (QuantTraits &t : kTable) {
    const qinfer_type_traits *g = qinfer_type_traits_of(t.type);
    t.name = g->name;
    t.block_size = g->block_size;
    t.type_size = g->type_size;
    index[qinfer_type_slot(t.type)] = &t;
  }
  return index;
}

}  // namespace

const QuantTraits *quant_traits(int type) {
  static const QuantTraits *const *index = build_index();
  const int32_t slot = qinfer_type_slot(type);
  return slot < 0 ? nullptr : index[slot];
}

}  // namespace qinfer::quant
