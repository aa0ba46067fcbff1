// The ggml type table: names and block geometry as ggml defines them (sizes checked by tests against the block structs).
#include "qinfer/ggml-types.h"

#include "qinfer/blocks-lowbit.h"
#include "qinfer/blocks.h"

namespace {

constexpr qinfer_type_traits kTraits[QINFER_GGML_TYPE_COUNT] = {
    /* 0  */ {"f32", 1, 4},
    /* 1  */ {"f16", 1, 2},
    /* 2  */ {"q4_0", 32, 18},
    /* 3  */ {"q4_1", 32, 20},
    /* 4  */ {nullptr, 0, 0},
    /* 5  */ {nullptr, 0, 0},
    /* 6  */ {"q5_0", 32, 22},
    /* 7  */ {"q5_1", 32, 24},
    /* 8  */ {"q8_0", 32, 34},
    /* 9  */ {"q8_1", 32, 36},
    /* 10 */ {"q2_K", 256, 84},
    /* 11 */ {"q3_K", 256, 110},
    /* 12 */ {"q4_K", 256, 144},
    /* 13 */ {"q5_K", 256, 176},
    /* 14 */ {"q6_K", 256, 210},
    /* 15 */ {"q8_K", 256, 292},
    /* 16 */ {"iq2_xxs", 256, 66},
    /* 17 */ {"iq2_xs", 256, 74},
    /* 18 */ {"iq3_xxs", 256, 98},
    /* 19 */ {"iq1_s", 256, 50},
    /* 20 */ {"iq4_nl", 32, 18},
    /* 21 */ {"iq3_s", 256, 110},
    /* 22 */ {"iq2_s", 256, 82},
    /* 23 */ {"iq4_xs", 256, 136},
    /* 24 */ {"i8", 1, 1},
    /* 25 */ {"i16", 1, 2},
    /* 26 */ {"i32", 1, 4},
    /* 27 */ {"i64", 1, 8},
    /* 28 */ {"f64", 1, 8},
    /* 29 */ {"iq1_m", 256, 56},
    /* 30 */ {"bf16", 1, 2},
    /* 31 */ {nullptr, 0, 0},
    /* 32 */ {nullptr, 0, 0},
    /* 33 */ {nullptr, 0, 0},
    /* 34 */ {"tq1_0", 256, 54},
    /* 35 */ {"tq2_0", 256, 66},
    /* 36 */ {nullptr, 0, 0},
    /* 37 */ {nullptr, 0, 0},
    /* 38 */ {nullptr, 0, 0},
    /* 39 */ {"mxfp4", 32, 17},
    /* 40 */ {"nvfp4", 64, 36},
    /* 41 */ {"q1_0", 128, 18},
    /* 42 */ {"q2_0", 64, 18},
};

// Every block struct must match the table, which is ggml's.
static_assert(kTraits[QINFER_TYPE_Q4_0].type_size == sizeof(qinfer_block_q4_0), "q4_0");
static_assert(kTraits[QINFER_TYPE_Q4_1].type_size == sizeof(qinfer_block_q4_1), "q4_1");
static_assert(kTraits[QINFER_TYPE_Q5_0].type_size == sizeof(qinfer_block_q5_0), "q5_0");
static_assert(kTraits[QINFER_TYPE_Q5_1].type_size == sizeof(qinfer_block_q5_1), "q5_1");
static_assert(kTraits[QINFER_TYPE_Q8_0].type_size == sizeof(qinfer_block_q8_0), "q8_0");
static_assert(kTraits[QINFER_TYPE_Q8_1].type_size == sizeof(qinfer_block_q8_1), "q8_1");
static_assert(kTraits[QINFER_TYPE_Q2_K].type_size == sizeof(qinfer_block_q2_k), "q2_K");
static_assert(kTraits[QINFER_TYPE_Q3_K].type_size == sizeof(qinfer_block_q3_k), "q3_K");
static_assert(kTraits[QINFER_TYPE_Q4_K].type_size == sizeof(qinfer_block_q4_k), "q4_K");
static_assert(kTraits[QINFER_TYPE_Q5_K].type_size == sizeof(qinfer_block_q5_k), "q5_K");
static_assert(kTraits[QINFER_TYPE_Q6_K].type_size == sizeof(qinfer_block_q6_k), "q6_K");
static_assert(kTraits[QINFER_TYPE_Q8_K].type_size == sizeof(qinfer_block_q8_k), "q8_K");
static_assert(kTraits[QINFER_TYPE_IQ4_NL].type_size == sizeof(qinfer_block_iq4_nl), "iq4_nl");
static_assert(kTraits[QINFER_TYPE_IQ4_XS].type_size == sizeof(qinfer_block_iq4_xs), "iq4_xs");
static_assert(kTraits[QINFER_TYPE_Q4_0].block_size == QINFER_QK_LEGACY && kTraits[QINFER_TYPE_Q4_K].block_size == QINFER_QK_K,
              "block sizes");

// qinfer's own: the tensor holds only the int8 values; the row scales live in "<name>.scale".
constexpr qinfer_type_traits kW8a8 = {"w8a8", 1, 1};
// qinfer's own low-bit block formats, in slot order from QINFER_OWN_BLOCK_TYPE_FIRST.
constexpr qinfer_type_traits kOwnBlocks[QINFER_OWN_BLOCK_TYPE_COUNT] = {
    {"q3_32", QINFER_QK_LOWBIT, sizeof(qinfer_block_q3_32)},
    {"q2_32", QINFER_QK_LOWBIT, sizeof(qinfer_block_q2_32)},
};

}  // namespace

extern "C" const qinfer_type_traits *qinfer_type_traits_of(int32_t type) {
  if (type == QINFER_TYPE_W8A8) return &kW8a8;
  if (type >= QINFER_GGML_TYPE_COUNT && qinfer_type_slot(type) >= 0) return &kOwnBlocks[type - QINFER_OWN_BLOCK_TYPE_FIRST];
  if (type < 0 || type >= QINFER_GGML_TYPE_COUNT || !kTraits[type].name) return nullptr;
  return &kTraits[type];
}
