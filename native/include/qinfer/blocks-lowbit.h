/* Block layouts of qinfer's own 3- and 2-bit formats (type ids 1001, 1002; README: quantized formats):
   32 elements a block, so rows of any multiple of 32 (384, 1024, ...) get true 3- and 2-bit weights where
   ggml's 256-element K-quants fall back to wider formats. */
#ifndef QINFER_BLOCKS_LOWBIT_H
#define QINFER_BLOCKS_LOWBIT_H

#include "qinfer/blocks.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QINFER_QK_LOWBIT 32

/* Both grids are odd and symmetric (no zero level, as many levels on each side): element j with code q
   decodes to d * (2q - (2^bits - 1)). Code bits 0-1 of element j are bits 2*(j/8) and 2*(j/8)+1 of
   qs[j % 8], so one 64-bit load shifted by 0, 2, 4 and 6 yields elements 0-7, 8-15, 16-23, 24-31. */

/* 3 bits: x = d * (2q - 7), q in 0..7 (levels -7d, -5d, ..., 7d); bit 2 of element j's code is bit j of
   the little-endian 32-bit qh. 14 bytes per 32 weights: 3.5 bits per weight. */
typedef struct qinfer_block_q3_32 {
  qinfer_half d;
  uint8_t qs[QINFER_QK_LOWBIT / 4];
  uint8_t qh[QINFER_QK_LOWBIT / 8];
} qinfer_block_q3_32;

/* 2 bits: x = d * (2q - 3), q in 0..3 (levels -3d, -d, d, 3d). 10 bytes per 32 weights: 2.5 bits per weight. */
typedef struct qinfer_block_q2_32 {
  qinfer_half d;
  uint8_t qs[QINFER_QK_LOWBIT / 4];
} qinfer_block_q2_32;

QINFER_STATIC_ASSERT(sizeof(qinfer_block_q3_32) == 14, "q3_32 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q2_32) == 10, "q2_32 block size");

#ifdef __cplusplus
}
#endif

#endif
