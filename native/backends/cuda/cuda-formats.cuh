// Device-side decoding of every weight format: each format turns one chunk of a row into floats.
// A chunk is 32 elements (one legacy block, or one 32-element slice of a 256-element super-block) or a
// single element for the float formats, so one kernel template serves every format.
#pragma once

#include <cstdint>

#include <cuda_fp16.h>

#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {

__device__ __forceinline__ float half_f(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ uint16_t ld16(const uint8_t *p) { return __ldg(reinterpret_cast<const uint16_t *>(p)); }

// The 16 IQ4_NL levels looked up in registers with byte permutes: a __constant__ table indexed by
// each lane's own nibble would serialize the warp's reads.
__device__ __forceinline__ float iq4nl_level(int q) {
  constexpr int8_t v[16] = QINFER_IQ4NL_VALUES_INIT;
  constexpr uint32_t w0 = uint8_t(v[0]) | uint8_t(v[1]) << 8 | uint8_t(v[2]) << 16 | uint32_t(uint8_t(v[3])) << 24;
  constexpr uint32_t w1 = uint8_t(v[4]) | uint8_t(v[5]) << 8 | uint8_t(v[6]) << 16 | uint32_t(uint8_t(v[7])) << 24;
  constexpr uint32_t w2 = uint8_t(v[8]) | uint8_t(v[9]) << 8 | uint8_t(v[10]) << 16 | uint32_t(uint8_t(v[11])) << 24;
  constexpr uint32_t w3 = uint8_t(v[12]) | uint8_t(v[13]) << 8 | uint8_t(v[14]) << 16 | uint32_t(uint8_t(v[15])) << 24;
  const uint32_t b = q & 8 ? __byte_perm(w2, w3, q & 7) : __byte_perm(w0, w1, q & 7);
  return float(int8_t(b & 0xff));
}

struct FmtF32 {
  static constexpr int kChunk = 1, kBlockElems = 1, kBlockBytes = 4;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { v[0] = __ldg(reinterpret_cast<const float *>(row) + ci); }
};
struct FmtF16 {
  static constexpr int kChunk = 1, kBlockElems = 1, kBlockBytes = 2;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { v[0] = half_f(ld16(row + 2 * ci)); }
};
struct FmtBF16 {
  static constexpr int kChunk = 1, kBlockElems = 1, kBlockBytes = 2;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { v[0] = __uint_as_float(uint32_t(ld16(row + 2 * ci)) << 16); }
};

// Legacy blocks of 32: element j in the low nibble of qs[j], j + 16 in the high nibble.
// Values are computed in the CPU reference's order, products rounded before the add (no contraction
// into an FMA), so decoded rows match it bit for bit, signed zeros included.
template <bool kMin, class Levels>
__device__ __forceinline__ void nibbles(const uint8_t *qs, float d, float m, float *v, Levels lv) {
// qs is 2-byte aligned in every block that uses this layout: half-word loads.
#pragma unroll
  for (int j = 0; j < 16; j += 2) {
    const int p = ld16(qs + j);
#pragma unroll
    for (int k = 0; k < 2; k++) {
      const int b = p >> (8 * k);
      v[j + k] = kMin ? __fmul_rn(lv(b & 15), d) + m : lv(b & 15) * d;
      v[j + k + 16] = kMin ? __fmul_rn(lv((b >> 4) & 15), d) + m : lv((b >> 4) & 15) * d;
    }
  }
}

struct FmtQ4_0 {
  static constexpr int kChunk = 32, kBlockElems = 32, kBlockBytes = 18;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + ci * kBlockBytes;
    nibbles<false>(b + 2, half_f(ld16(b)), 0.f, v, [](int q) { return float(q - 8); });
  }
};
struct FmtQ4_1 {
  static constexpr int kChunk = 32, kBlockElems = 32, kBlockBytes = 20;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + ci * kBlockBytes;
    nibbles<true>(b + 4, half_f(ld16(b)), half_f(ld16(b + 2)), v, [](int q) { return float(q); });
  }
};
struct FmtIQ4_NL {
  static constexpr int kChunk = 32, kBlockElems = 32, kBlockBytes = 18;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + ci * kBlockBytes;
    nibbles<false>(b + 2, half_f(ld16(b)), 0.f, v, [](int q) { return iq4nl_level(q); });
  }
};

// Q5_0/Q5_1: bit 4 of element j is bit j of the little-endian qh.
template <bool kMin>
__device__ __forceinline__ void load_q5(const uint8_t *b, float *v) {
  const float d = half_f(ld16(b)), m = kMin ? half_f(ld16(b + 2)) : 0.f;
  const uint8_t *hp = b + (kMin ? 4 : 2);
  const uint32_t qh = uint32_t(hp[0]) | uint32_t(hp[1]) << 8 | uint32_t(hp[2]) << 16 | uint32_t(hp[3]) << 24;
  const uint8_t *qs = hp + 4;
#pragma unroll
  for (int j = 0; j < 16; j++) {
    const int q = __ldg(qs + j);
    const int lo = (q & 15) | ((qh >> j) & 1) << 4, hi = (q >> 4) | ((qh >> (j + 16)) & 1) << 4;
    v[j] = kMin ? __fmul_rn(float(lo), d) + m : float(lo - 16) * d;
    v[j + 16] = kMin ? __fmul_rn(float(hi), d) + m : float(hi - 16) * d;
  }
}
struct FmtQ5_0 {
  static constexpr int kChunk = 32, kBlockElems = 32, kBlockBytes = 22;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { load_q5<false>(row + ci * kBlockBytes, v); }
};
struct FmtQ5_1 {
  static constexpr int kChunk = 32, kBlockElems = 32, kBlockBytes = 24;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { load_q5<true>(row + ci * kBlockBytes, v); }
};

struct FmtQ8_0 {
  static constexpr int kChunk = 32, kBlockElems = 32, kBlockBytes = 34;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + ci * kBlockBytes;
    const float d = half_f(ld16(b));
    // 2-byte aligned: 16 half-word loads instead of 32 byte loads.
#pragma unroll
    for (int j = 0; j < 16; j++) {
      const uint16_t p = ld16(b + 2 + 2 * j);
      v[2 * j] = d * float(int8_t(p & 0xff));
      v[2 * j + 1] = d * float(int8_t(p >> 8));
    }
  }
};

// K-quants: chunk c (0..7) of a 256-element super-block.
struct FmtQ2_K {
  static constexpr int kChunk = 32, kBlockElems = 256, kBlockBytes = 84;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + (ci >> 3) * kBlockBytes;
    const int c = int(ci & 7), shift = 2 * (c & 3);
    const float d = half_f(ld16(b + 80)), dmin = half_f(ld16(b + 82));
    const uint8_t *qs = b + 16 + 32 * (c >> 2);
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int sc = __ldg(b + 2 * c + h);
      const float dl = d * float(sc & 15), ml = dmin * float(sc >> 4);
#pragma unroll
      for (int l = 0; l < 16; l += 4) {
        const uint32_t ws = __ldg(reinterpret_cast<const uint32_t *>(qs + 16 * h + l));  // 84-byte blocks: 4-byte aligned
#pragma unroll
        for (int k = 0; k < 4; k++) v[16 * h + l + k] = __fmul_rn(dl, float((ws >> (8 * k + shift)) & 3)) - ml;
      }
    }
  }
};
struct FmtQ3_K {
  static constexpr int kChunk = 32, kBlockElems = 256, kBlockBytes = 110;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + (ci >> 3) * kBlockBytes;
    const int c = int(ci & 7), shift = 2 * (c & 3);
    const float d = half_f(ld16(b + 108));
    const uint8_t *hm = b, *qs = b + 32 + 32 * (c >> 2), *scales = b + 96;
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const float dl = d * float(qinfer_q3k_scale(2 * c + h, scales));
#pragma unroll
      for (int l = 0; l < 16; l++) {
        const int i = 16 * h + l;
        const int q = ((__ldg(qs + i) >> shift) & 3) | ((__ldg(hm + i) >> c) & 1) << 2;
        v[i] = dl * float(q - 4);
      }
    }
  }
};
// Q4_K/Q5_K: element 32c + l is nibble (c & 1) of qs[32 (c >> 1) + l]; Q5_K's bit 4 is bit c of qh[l].
template <bool kFifth>
__device__ __forceinline__ void load_k45(const uint8_t *b, int c, float *v) {
  const float d = half_f(ld16(b)), dmin = half_f(ld16(b + 2));
  uint8_t sc, m;
  qinfer_k4_scale_min(c, b + 4, &sc, &m);
  const float dl = d * float(sc), ml = dmin * float(m);
  const uint8_t *qh = b + 16, *qs = b + (kFifth ? 48 : 16) + 32 * (c >> 1);
  const int shift = 4 * (c & 1);
  // 4-byte aligned in every block (144 and 176 bytes, qs and qh at offsets 16 and 48): word loads.
#pragma unroll
  for (int l = 0; l < 32; l += 4) {
    const uint32_t ws = __ldg(reinterpret_cast<const uint32_t *>(qs + l));
    const uint32_t wh = kFifth ? __ldg(reinterpret_cast<const uint32_t *>(qh + l)) : 0u;
#pragma unroll
    for (int k = 0; k < 4; k++) {
      int q = (ws >> (8 * k + shift)) & 15;
      if (kFifth) q |= ((wh >> (8 * k + c)) & 1) << 4;
      v[l + k] = __fmul_rn(dl, float(q)) - ml;
    }
  }
}
struct FmtQ4_K {
  static constexpr int kChunk = 32, kBlockElems = 256, kBlockBytes = 144;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { load_k45<false>(row + (ci >> 3) * kBlockBytes, int(ci & 7), v); }
};
struct FmtQ5_K {
  static constexpr int kChunk = 32, kBlockElems = 256, kBlockBytes = 176;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) { load_k45<true>(row + (ci >> 3) * kBlockBytes, int(ci & 7), v); }
};
struct FmtQ6_K {
  static constexpr int kChunk = 32, kBlockElems = 256, kBlockBytes = 210;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + (ci >> 3) * kBlockBytes;
    const int c = int(ci & 7), half = c >> 2, s = c & 3;
    const float d = half_f(ld16(b + 208));
    const uint8_t *ql = b + 64 * half + 32 * (s & 1), *qh = b + 128 + 32 * half;
    const int8_t *scales = reinterpret_cast<const int8_t *>(b + 192);
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const float dl = d * float(scales[2 * c + h]);
#pragma unroll
      for (int l = 0; l < 16; l++) {
        const int i = 16 * h + l;
        const int q = ((__ldg(ql + i) >> (4 * (s >> 1))) & 15) | ((__ldg(qh + i) >> (2 * s)) & 3) << 4;
        v[i] = dl * float(q - 32);
      }
    }
  }
};
struct FmtIQ4_XS {
  static constexpr int kChunk = 32, kBlockElems = 256, kBlockBytes = 136;
  __device__ static void load(const uint8_t *row, int64_t ci, float *v) {
    const uint8_t *b = row + (ci >> 3) * kBlockBytes;
    const int c = int(ci & 7);
    const int ls = ((b[4 + c / 2] >> (4 * (c & 1))) & 15) | ((ld16(b + 2) >> (2 * c)) & 3) << 4;
    nibbles<false>(b + 8 + 16 * c, half_f(ld16(b)) * float(ls - 32), 0.f, v, [](int q) { return iq4nl_level(q); });
  }
};

// Calls f(Fmt{}) for the format of ggml type `type`; returns false for a type with no decoder.
template <class F>
bool with_format(int32_t type, F &&f) {
  switch (type) {
    case QINFER_TYPE_F32: f(FmtF32{}); return true;
    case QINFER_TYPE_F16: f(FmtF16{}); return true;
    case QINFER_TYPE_BF16: f(FmtBF16{}); return true;
    case QINFER_TYPE_Q4_0: f(FmtQ4_0{}); return true;
    case QINFER_TYPE_Q4_1: f(FmtQ4_1{}); return true;
    case QINFER_TYPE_Q5_0: f(FmtQ5_0{}); return true;
    case QINFER_TYPE_Q5_1: f(FmtQ5_1{}); return true;
    case QINFER_TYPE_Q8_0: f(FmtQ8_0{}); return true;
    case QINFER_TYPE_Q2_K: f(FmtQ2_K{}); return true;
    case QINFER_TYPE_Q3_K: f(FmtQ3_K{}); return true;
    case QINFER_TYPE_Q4_K: f(FmtQ4_K{}); return true;
    case QINFER_TYPE_Q5_K: f(FmtQ5_K{}); return true;
    case QINFER_TYPE_Q6_K: f(FmtQ6_K{}); return true;
    case QINFER_TYPE_IQ4_NL: f(FmtIQ4_NL{}); return true;
    case QINFER_TYPE_IQ4_XS: f(FmtIQ4_XS{}); return true;
    default: return false;
  }
}

}  // namespace qinfer::cuda
