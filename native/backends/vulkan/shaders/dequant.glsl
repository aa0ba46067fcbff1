// Dot products of 32 weights in one quantized format with 32 F32 activations; the format is picked by a TYPE_* define.
// Needs, before inclusion: a uint buffer `wq` holding the weights and a float buffer `xv` holding x.
// Weights are read as 32-bit words and unpacked, so no 8- or 16-bit storage feature is needed;
// every block size and 16-bit field offset is even, so 16-bit reads never straddle two words.
#ifndef QINFER_DEQUANT_GLSL
#define QINFER_DEQUANT_GLSL

#include "block-layouts.glsl"

uint u8_at(uint b) { return (wq[b >> 2] >> ((b & 3u) << 3)) & 0xFFu; }
uint u16_at(uint b) { return (wq[b >> 2] >> ((b & 2u) << 3)) & 0xFFFFu; }
uint u32_at(uint b) { return u16_at(b) | (u16_at(b + 2u) << 16); }  // b even
float half_at(uint b) { return unpackHalf2x16(u16_at(b)).x; }
int i8_of(uint v) { return int(v << 24) >> 24; }

#if defined(TYPE_F16) || defined(TYPE_BF16)
#define ELEM_BYTES 2u
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

// Two 32-element sums a chunk needs: s_q = sum q*x (q the integer code, before scales) and
// s_x = sum x, so that formats with a minimum fold it in once per group.

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

// Dot of elements [32*chunk, 32*chunk + 32) of the row starting at byte `row` with xv[xo + ...];
// `cols` bounds the 16-bit float formats, whose rows need not be whole chunks.
float chunk_dot(uint row, uint chunk, uint xo, uint cols) {
#if defined(TYPE_F16) || defined(TYPE_BF16)
  float s = 0.0;
  uint e0 = chunk * 32u;
  for (uint j = 0u; j < 32u && e0 + j < cols; j++) {
    uint h = u16_at(row + (e0 + j) * 2u);
#if defined(TYPE_F16)
    float w = unpackHalf2x16(h).x;
#else
    float w = uintBitsToFloat(h << 16);
#endif
    s += w * xv[xo + e0 + j];
  }
  return s;
#else
  uint blk = row + (chunk / CHUNKS_PER_BLOCK) * BLOCK_BYTES;
  uint sub = chunk % CHUNKS_PER_BLOCK;
  uint x0 = xo + chunk * 32u;
#if defined(TYPE_Q8_0)
  float s = 0.0;
  for (uint i = 0u; i < 32u; i += 4u) {
    uint q = u32_at(blk + Q8_0_QS + i);
    s += float(i8_of(q)) * xv[x0 + i] + float(i8_of(q >> 8)) * xv[x0 + i + 1u] + float(i8_of(q >> 16)) * xv[x0 + i + 2u] +
         float(i8_of(q >> 24)) * xv[x0 + i + 3u];
  }
  return half_at(blk + Q8_0_D) * s;
#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1) || defined(TYPE_IQ4_NL)
#if defined(TYPE_Q4_0)
  const uint QS = Q4_0_QS;
#elif defined(TYPE_Q4_1)
  const uint QS = Q4_1_QS;
#else
  const uint QS = IQ4_NL_QS;
#endif
  float sq = 0.0, sx = 0.0;
  for (uint i = 0u; i < 16u; i += 4u) {
    uint q = u32_at(blk + QS + i);
    for (uint k = 0u; k < 4u; k++) {
      uint b = (q >> (8u * k)) & 0xFFu;
      float xl = xv[x0 + i + k], xh = xv[x0 + i + k + 16u];
#if defined(TYPE_IQ4_NL)
      sq += float(IQ4NL_VALUES[b & 0xFu]) * xl + float(IQ4NL_VALUES[b >> 4]) * xh;
#else
      sq += float(b & 0xFu) * xl + float(b >> 4) * xh;
      sx += xl + xh;
#endif
    }
  }
#if defined(TYPE_Q4_0)
  return half_at(blk + Q4_0_D) * (sq - 8.0 * sx);
#elif defined(TYPE_Q4_1)
  return half_at(blk + Q4_1_D) * sq + half_at(blk + Q4_1_M) * sx;
#else
  return half_at(blk + IQ4_NL_D) * sq;
#endif
#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
#if defined(TYPE_Q5_0)
  uint qh = u32_at(blk + Q5_0_QH);
  const uint QS = Q5_0_QS;
#else
  uint qh = u32_at(blk + Q5_1_QH);
  const uint QS = Q5_1_QS;
#endif
  float sq = 0.0, sx = 0.0;
  for (uint i = 0u; i < 16u; i += 4u) {
    uint q = u32_at(blk + QS + i);
    for (uint k = 0u; k < 4u; k++) {
      uint j = i + k;
      uint b = (q >> (8u * k)) & 0xFFu;
      float xl = xv[x0 + j], xh = xv[x0 + j + 16u];
      sq += float((b & 0xFu) | (((qh >> j) & 1u) << 4)) * xl + float((b >> 4) | (((qh >> (j + 16u)) & 1u) << 4)) * xh;
      sx += xl + xh;
    }
  }
#if defined(TYPE_Q5_0)
  return half_at(blk + Q5_0_D) * (sq - 16.0 * sx);
#else
  return half_at(blk + Q5_1_D) * sq + half_at(blk + Q5_1_M) * sx;
#endif
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  // Chunk `sub` is group g: pair p = g/2 of 64 elements, low (h = 0) or high (h = 1) nibbles.
  uint p = sub >> 1, h = sub & 1u;
  float sc, mn;
#if defined(TYPE_Q4_K)
  k4_scale_min(sub, blk + Q4_K_SCALES, sc, mn);
  uint qs = blk + Q4_K_QS + 32u * p;
#else
  k4_scale_min(sub, blk + Q5_K_SCALES, sc, mn);
  uint qs = blk + Q5_K_QS + 32u * p;
  uint hb = 2u * p + h;
#endif
  float sq = 0.0, sx = 0.0;
  for (uint l = 0u; l < 32u; l += 4u) {
    uint q = u32_at(qs + l);
#if defined(TYPE_Q5_K)
    uint qh = u32_at(blk + Q5_K_QH + l);
#endif
    for (uint k = 0u; k < 4u; k++) {
      uint v = (q >> (8u * k + 4u * h)) & 0xFu;
#if defined(TYPE_Q5_K)
      v |= ((qh >> (8u * k + hb)) & 1u) << 4;
#endif
      float xe = xv[x0 + l + k];
      sq += float(v) * xe;
      sx += xe;
    }
  }
#if defined(TYPE_Q4_K)
  return half_at(blk + Q4_K_D) * sc * sq - half_at(blk + Q4_K_DMIN) * mn * sx;
#else
  return half_at(blk + Q5_K_D) * sc * sq - half_at(blk + Q5_K_DMIN) * mn * sx;
#endif
#elif defined(TYPE_Q2_K) || defined(TYPE_Q3_K)
  // Chunk `sub`: half n of 128 elements, 2-bit field s of the bytes qs[32n + l]; groups of 16.
  uint n = sub >> 2, s = sub & 3u;
#if defined(TYPE_Q2_K)
  uint qs = blk + Q2_K_QS + 32u * n;
#else
  uint qs = blk + Q3_K_QS + 32u * n;
  uint hbit = 4u * n + s;  // bit of hmask[l] holding bit 2 of this chunk's elements
#endif
  float total = 0.0;
  for (uint half16 = 0u; half16 < 2u; half16++) {
    uint g = 8u * n + 2u * s + half16;
    float sq = 0.0, sx = 0.0;
    for (uint l = 16u * half16; l < 16u * half16 + 16u; l += 4u) {
      uint q = u32_at(qs + l);
#if defined(TYPE_Q3_K)
      uint hm = u32_at(blk + Q3_K_HMASK + l);
#endif
      for (uint k = 0u; k < 4u; k++) {
        uint v = (q >> (8u * k + 2u * s)) & 3u;
#if defined(TYPE_Q3_K)
        v |= ((hm >> (8u * k + hbit)) & 1u) << 2;
#endif
        float xe = xv[x0 + l + k];
        sq += float(v) * xe;
        sx += xe;
      }
    }
#if defined(TYPE_Q2_K)
    uint sc = u8_at(blk + Q2_K_SCALES + g);
    total += half_at(blk + Q2_K_D) * float(sc & 0xFu) * sq - half_at(blk + Q2_K_DMIN) * float(sc >> 4) * sx;
#else
    total += half_at(blk + Q3_K_D) * q3k_scale(g, blk + Q3_K_SCALES) * (sq - 4.0 * sx);
#endif
  }
  return total;
#elif defined(TYPE_Q6_K)
  // Chunk `sub`: half n of 128 elements, quarter s: low bits in ql[64n + 32(s&1) + l] (nibble s/2),
  // top bits 2s..2s+1 of qh[32n + l]; groups of 16 with signed 8-bit scales.
  uint n = sub >> 2, s = sub & 3u;
  uint ql = blk + Q6_K_QL + 64u * n + 32u * (s & 1u);
  uint qhb = blk + Q6_K_QH + 32u * n;
  uint nib = 4u * (s >> 1);
  float total = 0.0;
  for (uint half16 = 0u; half16 < 2u; half16++) {
    float sq = 0.0;
    for (uint l = 16u * half16; l < 16u * half16 + 16u; l += 4u) {
      uint lo = u32_at(ql + l), hi = u32_at(qhb + l);
      for (uint k = 0u; k < 4u; k++) {
        int v = int(((lo >> (8u * k + nib)) & 0xFu) | (((hi >> (8u * k + 2u * s)) & 3u) << 4)) - 32;
        sq += float(v) * xv[x0 + l + k];
      }
    }
    total += float(i8_of(u8_at(blk + Q6_K_SCALES + 8u * n + 2u * s + half16))) * sq;
  }
  return half_at(blk + Q6_K_D) * total;
#elif defined(TYPE_IQ4_XS)
  uint g = sub;
  uint ls = ((u8_at(blk + IQ4_XS_SCALES_L + (g >> 1)) >> (4u * (g & 1u))) & 0xFu) | (((u16_at(blk + IQ4_XS_SCALES_H) >> (2u * g)) & 3u) << 4);
  float sq = 0.0;
  for (uint i = 0u; i < 16u; i += 4u) {
    uint q = u32_at(blk + IQ4_XS_QS + 16u * g + i);
    for (uint k = 0u; k < 4u; k++) {
      uint b = (q >> (8u * k)) & 0xFFu;
      sq += float(IQ4NL_VALUES[b & 0xFu]) * xv[x0 + i + k] + float(IQ4NL_VALUES[b >> 4]) * xv[x0 + i + k + 16u];
    }
  }
  return half_at(blk + IQ4_XS_D) * float(int(ls) - 32) * sq;
#endif
#endif
}

#endif
