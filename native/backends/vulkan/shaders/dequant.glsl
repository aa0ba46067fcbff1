// Dequantizes 32 consecutive weights of one row in the format picked by a TYPE_* define (F32, F16, BF16, legacy, K, IQ4).
// Needs, before inclusion: a uint buffer `wq` holding the weights.
// Weights are read as 32-bit words and unpacked, so no 8- or 16-bit storage feature is needed;
// every block size and 16-bit field offset is even, so 16-bit reads never straddle two words.
// Products follow the reference dequantizers' order (native/quant/ref-*.cc) and are `precise`,
// so a lookup of a row gives the same floats as the CPU. Loops are unrolled so that v[] is indexed by constants.
#ifndef QINFER_DEQUANT_GLSL
#define QINFER_DEQUANT_GLSL

#include "block-layouts.glsl"

uint u8_at(uint b) { return (wq[b >> 2] >> ((b & 3u) << 3)) & 0xFFu; }
uint u16_at(uint b) { return (wq[b >> 2] >> ((b & 2u) << 3)) & 0xFFFFu; }
uint u32_at(uint b) { return u16_at(b) | (u16_at(b + 2u) << 16); }  // b even
float half_at(uint b) { return unpackHalf2x16(u16_at(b)).x; }
int i8_of(uint v) { return int(v << 24) >> 24; }

#if defined(TYPE_F32)
#define ELEMENTWISE 1
#define BLOCK_ELEMS 1u
#define BLOCK_BYTES 4u
#elif defined(TYPE_F16) || defined(TYPE_BF16)
#define ELEMENTWISE 1
#define BLOCK_ELEMS 1u
#define BLOCK_BYTES 2u
#elif defined(TYPE_Q4_0)
#define BLOCK_ELEMS Q4_0_ELEMS
#define BLOCK_BYTES Q4_0_BYTES
#elif defined(TYPE_Q4_1)
#define BLOCK_ELEMS Q4_1_ELEMS
#define BLOCK_BYTES Q4_1_BYTES
#elif defined(TYPE_Q5_0)
#define BLOCK_ELEMS Q5_0_ELEMS
#define BLOCK_BYTES Q5_0_BYTES
#elif defined(TYPE_Q5_1)
#define BLOCK_ELEMS Q5_1_ELEMS
#define BLOCK_BYTES Q5_1_BYTES
#elif defined(TYPE_Q8_0)
#define BLOCK_ELEMS Q8_0_ELEMS
#define BLOCK_BYTES Q8_0_BYTES
#elif defined(TYPE_Q2_K)
#define BLOCK_ELEMS Q2_K_ELEMS
#define BLOCK_BYTES Q2_K_BYTES
#elif defined(TYPE_Q3_K)
#define BLOCK_ELEMS Q3_K_ELEMS
#define BLOCK_BYTES Q3_K_BYTES
#elif defined(TYPE_Q4_K)
#define BLOCK_ELEMS Q4_K_ELEMS
#define BLOCK_BYTES Q4_K_BYTES
#elif defined(TYPE_Q5_K)
#define BLOCK_ELEMS Q5_K_ELEMS
#define BLOCK_BYTES Q5_K_BYTES
#elif defined(TYPE_Q6_K)
#define BLOCK_ELEMS Q6_K_ELEMS
#define BLOCK_BYTES Q6_K_BYTES
#elif defined(TYPE_IQ4_NL)
#define BLOCK_ELEMS IQ4_NL_ELEMS
#define BLOCK_BYTES IQ4_NL_BYTES
#elif defined(TYPE_IQ4_XS)
#define BLOCK_ELEMS IQ4_XS_ELEMS
#define BLOCK_BYTES IQ4_XS_BYTES
#else
#error "define one TYPE_*"
#endif

// 32-element chunks per block (1 for the legacy formats, 8 for 256-element super-blocks).
#define CHUNKS_PER_BLOCK (BLOCK_ELEMS >= 32u ? BLOCK_ELEMS / 32u : 1u)

uint row_bytes(uint cols) { return (cols / BLOCK_ELEMS) * BLOCK_BYTES; }

// The 6-bit scale and min j (0..7) of Q4_K/Q5_K, from the 12 packed bytes at `sb` (blocks.h qinfer_k4_scale_min).
void k4_scale_min(uint j, uint sb, out float sc, out float mn) {
  if (j < 4u) {
    sc = float(u8_at(sb + j) & 63u);
    mn = float(u8_at(sb + j + 4u) & 63u);
  } else {
    sc = float((u8_at(sb + j + 4u) & 0xFu) | ((u8_at(sb + j - 4u) >> 6) << 4));
    mn = float((u8_at(sb + j + 4u) >> 4) | ((u8_at(sb + j) >> 6) << 4));
  }
}

// Q3_K's signed 6-bit scale j (0..15) minus 32, from the 12 bytes at `sb` (blocks.h qinfer_q3k_scale).
float q3k_scale(uint j, uint sb) {
  uint lo = j < 8u ? (u8_at(sb + j) & 0xFu) : (u8_at(sb + j - 8u) >> 4);
  uint hi = (u8_at(sb + 8u + (j & 3u)) >> (2u * (j >> 2))) & 3u;
  return float(int(lo | (hi << 4)) - 32);
}

// v[j] = element 32*chunk + j of the row starting at byte `row`; elements at or past `cols`
// (only the 1-element formats have rows that are not whole chunks) read as 0.
void chunk_values(uint row, uint chunk, uint cols, out float v[32]) {
#ifdef ELEMENTWISE
  uint e0 = chunk * 32u;
  for (uint j = 0u; j < 32u; j++) {
    uint e = e0 + j;
    if (e >= cols) {
      v[j] = 0.0;
      continue;
    }
#if defined(TYPE_F32)
    v[j] = uintBitsToFloat(wq[(row >> 2) + e]);
#elif defined(TYPE_F16)
    v[j] = half_at(row + 2u * e);
#else
    v[j] = uintBitsToFloat(u16_at(row + 2u * e) << 16);
#endif
  }
#else
  uint blk = row + (chunk / CHUNKS_PER_BLOCK) * BLOCK_BYTES;
  uint sub = chunk % CHUNKS_PER_BLOCK;
#if defined(TYPE_Q8_0)
  precise float d = half_at(blk + Q8_0_D);
  [[unroll]] for (uint i = 0u; i < 32u; i += 4u) {
    uint q = u32_at(blk + Q8_0_QS + i);
    for (uint k = 0u; k < 4u; k++) v[i + k] = float(i8_of(q >> (8u * k))) * d;
  }
#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1) || defined(TYPE_Q5_0) || defined(TYPE_Q5_1) || defined(TYPE_IQ4_NL)
  // Element j in the low nibble of qs[j], j + 16 in the high nibble; Q5 adds bit j of qh as bit 4.
#if defined(TYPE_Q4_0)
  uint qs = blk + Q4_0_QS, qh = 0u;
  float d = half_at(blk + Q4_0_D), m = 0.0;
  const int bias = 8;
#elif defined(TYPE_Q4_1)
  uint qs = blk + Q4_1_QS, qh = 0u;
  float d = half_at(blk + Q4_1_D), m = half_at(blk + Q4_1_M);
  const int bias = 0;
#elif defined(TYPE_Q5_0)
  uint qs = blk + Q5_0_QS, qh = u32_at(blk + Q5_0_QH);
  float d = half_at(blk + Q5_0_D), m = 0.0;
  const int bias = 16;
#elif defined(TYPE_Q5_1)
  uint qs = blk + Q5_1_QS, qh = u32_at(blk + Q5_1_QH);
  float d = half_at(blk + Q5_1_D), m = half_at(blk + Q5_1_M);
  const int bias = 0;
#else
  uint qs = blk + IQ4_NL_QS, qh = 0u;
  float d = half_at(blk + IQ4_NL_D), m = 0.0;
  const int bias = 0;
#endif
  [[unroll]] for (uint i = 0u; i < 16u; i += 4u) {
    uint q = u32_at(qs + i);
    for (uint k = 0u; k < 4u; k++) {
      uint j = i + k;
      uint lo = (q >> (8u * k)) & 0xFu, hi = (q >> (8u * k + 4u)) & 0xFu;
#if defined(TYPE_IQ4_NL)
      v[j] = d * float(IQ4NL_VALUES[lo]);
      v[j + 16u] = d * float(IQ4NL_VALUES[hi]);
#else
      lo |= ((qh >> j) & 1u) << 4;
      hi |= ((qh >> (j + 16u)) & 1u) << 4;
#if defined(TYPE_Q4_1) || defined(TYPE_Q5_1)
      precise float a = float(lo) * d + m, b = float(hi) * d + m;
      v[j] = a;
      v[j + 16u] = b;
#else
      v[j] = float(int(lo) - bias) * d;
      v[j + 16u] = float(int(hi) - bias) * d;
#endif
#endif
    }
  }
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  // Chunk `sub` is group g: pair p = g/2 of 64 elements, low (h = 0) or high (h = 1) nibbles of
  // qs[32p + l]; Q5_K's bit 4 is bit 2p + h of qh[l]. x = (d * sc) * q - (dmin * m).
  uint p = sub >> 1, h = sub & 1u;
  float sc, mn;
#if defined(TYPE_Q4_K)
  k4_scale_min(sub, blk + Q4_K_SCALES, sc, mn);
  uint qs = blk + Q4_K_QS + 32u * p;
  precise float d1 = half_at(blk + Q4_K_D) * sc, m1 = half_at(blk + Q4_K_DMIN) * mn;
#else
  k4_scale_min(sub, blk + Q5_K_SCALES, sc, mn);
  uint qs = blk + Q5_K_QS + 32u * p;
  precise float d1 = half_at(blk + Q5_K_D) * sc, m1 = half_at(blk + Q5_K_DMIN) * mn;
#endif
  [[unroll]] for (uint l = 0u; l < 32u; l += 4u) {
    uint q = u32_at(qs + l);
#if defined(TYPE_Q5_K)
    uint qh = u32_at(blk + Q5_K_QH + l);
#endif
    for (uint k = 0u; k < 4u; k++) {
      uint c = (q >> (8u * k + 4u * h)) & 0xFu;
#if defined(TYPE_Q5_K)
      c |= ((qh >> (8u * k + 2u * p + h)) & 1u) << 4;
#endif
      precise float x = d1 * float(c) - m1;
      v[l + k] = x;
    }
  }
#elif defined(TYPE_Q2_K) || defined(TYPE_Q3_K)
  // Chunk `sub`: half n of 128 elements, 2-bit field s of the bytes qs[32n + l]; groups of 16.
  // Q3_K's bit 2 of element 32*(4n + s) + l is bit 4n + s of hmask[l].
  uint n = sub >> 2, s = sub & 3u;
#if defined(TYPE_Q2_K)
  uint qs = blk + Q2_K_QS + 32u * n;
#else
  uint qs = blk + Q3_K_QS + 32u * n;
#endif
  [[unroll]] for (uint l = 0u; l < 32u; l += 4u) {
    uint g = 8u * n + 2u * s + l / 16u;
#if defined(TYPE_Q2_K)
    uint sc = u8_at(blk + Q2_K_SCALES + g);
    precise float dl = half_at(blk + Q2_K_D) * float(sc & 0xFu), ml = half_at(blk + Q2_K_DMIN) * float(sc >> 4);
#else
    precise float dl = half_at(blk + Q3_K_D) * q3k_scale(g, blk + Q3_K_SCALES);
    uint hm = u32_at(blk + Q3_K_HMASK + l);
#endif
    uint q = u32_at(qs + l);
    for (uint k = 0u; k < 4u; k++) {
      uint c = (q >> (8u * k + 2u * s)) & 3u;
#if defined(TYPE_Q2_K)
      precise float x = dl * float(c) - ml;
#else
      precise float x = dl * float(int(c | (((hm >> (8u * k + 4u * n + s)) & 1u) << 2)) - 4);
#endif
      v[l + k] = x;
    }
  }
#elif defined(TYPE_Q6_K)
  // Chunk `sub`: half n of 128 elements, quarter s: low bits in ql[64n + 32(s&1) + l] (nibble s/2),
  // top bits 2s..2s+1 of qh[32n + l]; groups of 16 with signed 8-bit scales. x = (d * sc) * (q - 32).
  uint n = sub >> 2, s = sub & 3u;
  uint ql = blk + Q6_K_QL + 64u * n + 32u * (s & 1u);
  uint qhb = blk + Q6_K_QH + 32u * n;
  uint nib = 4u * (s >> 1);
  float d = half_at(blk + Q6_K_D);
  [[unroll]] for (uint l = 0u; l < 32u; l += 4u) {
    precise float dl = d * float(i8_of(u8_at(blk + Q6_K_SCALES + 8u * n + 2u * s + l / 16u)));
    uint lo = u32_at(ql + l), hi = u32_at(qhb + l);
    for (uint k = 0u; k < 4u; k++) {
      int c = int(((lo >> (8u * k + nib)) & 0xFu) | (((hi >> (8u * k + 2u * s)) & 3u) << 4)) - 32;
      precise float x = dl * float(c);
      v[l + k] = x;
    }
  }
#elif defined(TYPE_IQ4_XS)
  // Chunk `sub` is group g: 6-bit scale from scales_l/scales_h, its 16 bytes of qs as IQ4_NL.
  uint g = sub;
  uint ls = ((u8_at(blk + IQ4_XS_SCALES_L + (g >> 1)) >> (4u * (g & 1u))) & 0xFu) |
            (((u16_at(blk + IQ4_XS_SCALES_H) >> (2u * g)) & 3u) << 4);
  precise float dl = half_at(blk + IQ4_XS_D) * float(int(ls) - 32);
  [[unroll]] for (uint i = 0u; i < 16u; i += 4u) {
    uint q = u32_at(blk + IQ4_XS_QS + 16u * g + i);
    for (uint k = 0u; k < 4u; k++) {
      v[i + k] = dl * float(IQ4NL_VALUES[(q >> (8u * k)) & 0xFu]);
      v[i + k + 16u] = dl * float(IQ4NL_VALUES[(q >> (8u * k + 4u)) & 0xFu]);
    }
  }
#endif
#endif
}

#endif
