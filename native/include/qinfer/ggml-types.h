/* ggml tensor type ids, names and block geometry, for every type ggml defines (computable or not),
   so that files from llama.cpp are described and validated exactly. */
#ifndef QINFER_GGML_TYPES_H
#define QINFER_GGML_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qinfer_ggml_type {
  QINFER_TYPE_F32 = 0,
  QINFER_TYPE_F16 = 1,
  QINFER_TYPE_Q4_0 = 2,
  QINFER_TYPE_Q4_1 = 3,
  /* 4 and 5 (Q4_2, Q4_3) were removed from ggml. */
  QINFER_TYPE_Q5_0 = 6,
  QINFER_TYPE_Q5_1 = 7,
  QINFER_TYPE_Q8_0 = 8,
  QINFER_TYPE_Q8_1 = 9,
  QINFER_TYPE_Q2_K = 10,
  QINFER_TYPE_Q3_K = 11,
  QINFER_TYPE_Q4_K = 12,
  QINFER_TYPE_Q5_K = 13,
  QINFER_TYPE_Q6_K = 14,
  QINFER_TYPE_Q8_K = 15,
  QINFER_TYPE_IQ2_XXS = 16,
  QINFER_TYPE_IQ2_XS = 17,
  QINFER_TYPE_IQ3_XXS = 18,
  QINFER_TYPE_IQ1_S = 19,
  QINFER_TYPE_IQ4_NL = 20,
  QINFER_TYPE_IQ3_S = 21,
  QINFER_TYPE_IQ2_S = 22,
  QINFER_TYPE_IQ4_XS = 23,
  QINFER_TYPE_I8 = 24,
  QINFER_TYPE_I16 = 25,
  QINFER_TYPE_I32 = 26,
  QINFER_TYPE_I64 = 27,
  QINFER_TYPE_F64 = 28,
  QINFER_TYPE_IQ1_M = 29,
  QINFER_TYPE_BF16 = 30,
  /* 31..33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) and 36..38 (IQ4_NL_x_y) were removed from ggml. */
  QINFER_TYPE_TQ1_0 = 34,
  QINFER_TYPE_TQ2_0 = 35,
  QINFER_TYPE_MXFP4 = 39,
  QINFER_TYPE_NVFP4 = 40,
  QINFER_TYPE_Q1_0 = 41,
  QINFER_TYPE_Q2_0 = 42,
  QINFER_GGML_TYPE_COUNT = 43,
  /* qinfer's own types, outside ggml's range (README: formats): int8 weights with one F32 scale per output
     row in the companion tensor "<name>.scale", multiplied with int8 activations. */
  QINFER_TYPE_W8A8 = 1000,
  /* qinfer's own low-bit block formats (blocks-lowbit.h): 32 elements a block, so they fit rows that
     256-element K-quant blocks do not divide. */
  QINFER_TYPE_Q3_32 = 1001,
  QINFER_TYPE_Q2_32 = 1002
} qinfer_ggml_type;

#define QINFER_OWN_BLOCK_TYPE_FIRST QINFER_TYPE_Q3_32
#define QINFER_OWN_BLOCK_TYPE_COUNT 2
/* Dense tables over every block format (ggml's ids, then qinfer's own block formats) use these slots. */
#define QINFER_TYPE_SLOT_COUNT (QINFER_GGML_TYPE_COUNT + QINFER_OWN_BLOCK_TYPE_COUNT)

/* The slot of a type id in dense tables, or -1 for ids outside them (W8A8, unknown ids). */
static inline int32_t qinfer_type_slot(int32_t type) {
  if (type >= 0 && type < QINFER_GGML_TYPE_COUNT) return type;
  if (type >= QINFER_OWN_BLOCK_TYPE_FIRST && type < QINFER_OWN_BLOCK_TYPE_FIRST + QINFER_OWN_BLOCK_TYPE_COUNT)
    return QINFER_GGML_TYPE_COUNT + (type - QINFER_OWN_BLOCK_TYPE_FIRST);
  return -1;
}

/* The type id of a slot (0 <= slot < QINFER_TYPE_SLOT_COUNT). */
static inline int32_t qinfer_slot_type(int32_t slot) {
  return slot < QINFER_GGML_TYPE_COUNT ? slot : QINFER_OWN_BLOCK_TYPE_FIRST + (slot - QINFER_GGML_TYPE_COUNT);
}

typedef struct qinfer_type_traits {
  const char *name;    /* ggml's lower-case name ("q4_k"); NULL for ids ggml removed */
  int32_t block_size;  /* elements per block */
  int32_t type_size;   /* bytes per block */
} qinfer_type_traits;

/* Traits of a type id (ggml's or qinfer's own), or NULL when the id is unknown or removed. */
const qinfer_type_traits *qinfer_type_traits_of(int32_t type);

#ifdef __cplusplus
}
#endif

#endif
