/* Block layouts of every quantized format qinfer computes, byte-compatible with ggml, plus fp16/bf16
   conversions: the one definition shared by the CPU, CUDA and Vulkan backends and the quantizer. */
#ifndef QINFER_BLOCKS_H
#define QINFER_BLOCKS_H

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define QINFER_HD __host__ __device__
#else
#define QINFER_HD
#endif

#ifdef __cplusplus
#define QINFER_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define QINFER_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* IEEE half and bfloat16 are stored as their raw bits: every language and device reads them alike. */
typedef uint16_t qinfer_half;
typedef uint16_t qinfer_bf16;

/* Elements per block. */
#define QINFER_QK_LEGACY 32 /* Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, IQ4_NL */
#define QINFER_QK_K 256     /* K-quants, Q8_K and IQ4_XS super-blocks */
#define QINFER_K_SCALE_SIZE 12

/* x = d * (q - 8), q in 0..15; element j in the low nibble of qs[j], element j+16 in the high nibble. */
typedef struct qinfer_block_q4_0 {
  qinfer_half d;
  uint8_t qs[QINFER_QK_LEGACY / 2];
} qinfer_block_q4_0;

/* x = d * q + m, q in 0..15; nibbles as Q4_0. */
typedef struct qinfer_block_q4_1 {
  qinfer_half d;
  qinfer_half m;
  uint8_t qs[QINFER_QK_LEGACY / 2];
} qinfer_block_q4_1;

/* x = d * (q - 16), q in 0..31; low 4 bits as Q4_0, bit 4 of element j is bit j of the
   little-endian 32-bit qh. */
typedef struct qinfer_block_q5_0 {
  qinfer_half d;
  uint8_t qh[4];
  uint8_t qs[QINFER_QK_LEGACY / 2];
} qinfer_block_q5_0;

/* x = d * q + m, q in 0..31; bits as Q5_0. */
typedef struct qinfer_block_q5_1 {
  qinfer_half d;
  qinfer_half m;
  uint8_t qh[4];
  uint8_t qs[QINFER_QK_LEGACY / 2];
} qinfer_block_q5_1;

/* x = d * q. */
typedef struct qinfer_block_q8_0 {
  qinfer_half d;
  int8_t qs[QINFER_QK_LEGACY];
} qinfer_block_q8_0;

/* Activation format for Q4_1/Q5_1: s = d * sum(qs) folds the weight block's minimum into one product. */
typedef struct qinfer_block_q8_1 {
  qinfer_half d;
  qinfer_half s;
  int8_t qs[QINFER_QK_LEGACY];
} qinfer_block_q8_1;

/* 16 groups of 16: x = d * (scales[g] & 15) * q - dmin * (scales[g] >> 4), q in 0..3.
   Within each half of 128 elements, element 32*s + l (s = 0..3) is bits 2s..2s+1 of qs[32*half + l]. */
typedef struct qinfer_block_q2_k {
  uint8_t scales[QINFER_QK_K / 16];
  uint8_t qs[QINFER_QK_K / 4];
  qinfer_half d;
  qinfer_half dmin;
} qinfer_block_q2_k;

/* 16 groups of 16: x = d * (sc[g] - 32) * (q - 4), q in 0..7 with 6-bit scales packed in 12 bytes
   (low nibbles in bytes 0..7, high 2-bit pairs in bytes 8..11); low 2 bits of q laid out as Q2_K,
   bit 2 of element i is bit (i / 32) of hmask[i % 32]. */
typedef struct qinfer_block_q3_k {
  uint8_t hmask[QINFER_QK_K / 8];
  uint8_t qs[QINFER_QK_K / 4];
  uint8_t scales[12];
  qinfer_half d;
} qinfer_block_q3_k;

/* 8 groups of 32: x = d * sc[g] * q - dmin * m[g], q in 0..15, 6-bit sc/m packed in 12 bytes.
   Each 64 elements use 32 bytes of qs: the first 32 in low nibbles, the next 32 in high nibbles. */
typedef struct qinfer_block_q4_k {
  qinfer_half d;
  qinfer_half dmin;
  uint8_t scales[QINFER_K_SCALE_SIZE];
  uint8_t qs[QINFER_QK_K / 2];
} qinfer_block_q4_k;

/* Q4_K plus a fifth bit: bit 4 of element 64*p + 32*h + l is bit 2p+h of qh[l]. */
typedef struct qinfer_block_q5_k {
  qinfer_half d;
  qinfer_half dmin;
  uint8_t scales[QINFER_K_SCALE_SIZE];
  uint8_t qh[QINFER_QK_K / 8];
  uint8_t qs[QINFER_QK_K / 2];
} qinfer_block_q5_k;

/* 16 groups of 16: x = d * scales[g] * (q - 32), q in 0..63. Per 128 elements: ql 64 bytes
   (elements l and l+64 in low/high nibble of ql[l], l+32 and l+96 in ql[l+32]), qh 32 bytes
   (bits 2s..2s+1 of qh[l] are the top bits of element 32*s + l). */
typedef struct qinfer_block_q6_k {
  uint8_t ql[QINFER_QK_K / 2];
  uint8_t qh[QINFER_QK_K / 4];
  int8_t scales[QINFER_QK_K / 16];
  qinfer_half d;
} qinfer_block_q6_k;

/* Activation format of the K-quants and IQ4_XS: float scale, bsums[g] = sum of qs in group g of 16. */
typedef struct qinfer_block_q8_k {
  float d;
  int8_t qs[QINFER_QK_K];
  int16_t bsums[QINFER_QK_K / 16];
} qinfer_block_q8_k;

/* x = d * iq4nl_values[q]; nibbles as Q4_0. */
typedef struct qinfer_block_iq4_nl {
  qinfer_half d;
  uint8_t qs[QINFER_QK_LEGACY / 2];
} qinfer_block_iq4_nl;

/* 8 groups of 32: x = d * (ls[g] - 32) * iq4nl_values[q], ls 6 bits: low 4 in scales_l[g/2]
   (nibble g%2), high 2 in bits 2g..2g+1 of scales_h; each group's 16 bytes of qs as IQ4_NL. */
typedef struct qinfer_block_iq4_xs {
  qinfer_half d;
  uint16_t scales_h;
  uint8_t scales_l[QINFER_QK_K / 64];
  uint8_t qs[QINFER_QK_K / 2];
} qinfer_block_iq4_xs;

QINFER_STATIC_ASSERT(sizeof(qinfer_block_q4_0) == 18, "q4_0 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q4_1) == 20, "q4_1 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q5_0) == 22, "q5_0 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q5_1) == 24, "q5_1 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q8_0) == 34, "q8_0 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q8_1) == 36, "q8_1 block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q2_k) == 84, "q2_K block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q3_k) == 110, "q3_K block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q4_k) == 144, "q4_K block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q5_k) == 176, "q5_K block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q6_k) == 210, "q6_K block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_q8_k) == 292, "q8_K block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_iq4_nl) == 18, "iq4_nl block size");
QINFER_STATIC_ASSERT(sizeof(qinfer_block_iq4_xs) == 136, "iq4_xs block size");

/* The 16 levels of IQ4_NL/IQ4_XS, as an initializer so device code can build its own constant table. */
#define QINFER_IQ4NL_VALUES_INIT {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
static const int8_t qinfer_iq4nl_values[16] = QINFER_IQ4NL_VALUES_INIT;

/* 6-bit scale and min j (0..7) of a Q4_K/Q5_K block's 12 packed bytes: entries 0..3 sit in the low
   6 bits of bytes j and j+4; entries 4..7 take their low nibbles from byte j+4 and their top two bits
   from the spare top bits of bytes j-4 and j. */
static inline QINFER_HD void qinfer_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

/* 6-bit signed scale j (0..15) of a Q3_K block, minus its bias of 32. */
static inline QINFER_HD int qinfer_q3k_scale(int j, const uint8_t *s) {
  int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

static inline QINFER_HD uint32_t qinfer_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline QINFER_HD float qinfer_bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Exact half -> float (subnormals, infinities and NaN payloads kept). */
static inline QINFER_HD float qinfer_half_to_f32(qinfer_half h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return qinfer_bits_f32(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    /* zero or subnormal: mant * 2^-24, exact in float */
    float v = (float)mant * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return qinfer_bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/* float -> half with round-to-nearest-even, as the F16C instruction and ggml do; NaN stays NaN. */
static inline QINFER_HD qinfer_half qinfer_f32_to_half(float f) {
  uint32_t u = qinfer_f32_bits(f);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t abs = u & 0x7FFFFFFF;
  if (abs > 0x7F800000u) return (qinfer_half)(sign | 0x7E00 | ((abs >> 13) & 0x3FF));
  if (abs >= 0x477FF000u) return (qinfer_half)(sign | 0x7C00); /* rounds past 65504: infinity */
  if (abs < 0x38800000u) {
    /* subnormal half (or zero): round abs * 2^24 to an integer, ties to even */
    if (abs < 0x33000000u) return (qinfer_half)sign; /* below half the smallest subnormal */
    uint32_t mant = (abs & 0x7FFFFF) | 0x800000;
    int shift = 126 - (int)(abs >> 23); /* 14..24 */
    uint32_t q = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1))) q++;
    return (qinfer_half)(sign | q);
  }
  uint32_t r = abs + 0xFFF + ((abs >> 13) & 1); /* ties to even on the 13 dropped bits */
  return (qinfer_half)(sign | ((r - 0x38000000u) >> 13));
}

static inline QINFER_HD float qinfer_bf16_to_f32(qinfer_bf16 b) { return qinfer_bits_f32((uint32_t)b << 16); }

/* float -> bfloat16, round-to-nearest-even; NaN made quiet rather than rounded into infinity. */
static inline QINFER_HD qinfer_bf16 qinfer_f32_to_bf16(float f) {
  uint32_t u = qinfer_f32_bits(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000u) return (qinfer_bf16)((u >> 16) | 64);
  return (qinfer_bf16)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

#ifdef __cplusplus
}
#endif

#endif
