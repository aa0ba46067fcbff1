// Products with qinfer's own Q3_32 and Q2_32 blocks: each block decodes into 32 bytes 2q (even, offset by
// 2^bits - 1 from the signed odd level) and runs through the legacy 32-element tiles against Act32.
// Included by the SIMD units after matmul-legacy-impl.h.
#pragma once

#include <cstring>

#include "matmul-legacy-impl.h"
#include "qinfer/blocks-lowbit.h"

namespace qinfer::cpu {
namespace {

// Code bits 0-1 of the 32 elements: the 8 bytes of qs shifted by 0, 2, 4, 6 in the four 64-bit lanes.
inline __m256i low_pairs32(const uint8_t *qs) {
  uint64_t bits;
  std::memcpy(&bits, qs, 8);
  const __m256i v = _mm256_srlv_epi64(_mm256_set1_epi64x(int64_t(bits)), _mm256_setr_epi64x(0, 2, 4, 6));
  return _mm256_and_si256(v, _mm256_set1_epi8(3));
}

struct FmtQ3_32 {
  using Block = qinfer_block_q3_32;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 7;
  static Decoded decode(const Block &b) {
    // fifth_bits puts bit j at 0x10 of byte j; the code's third bit is 0x04 (bytes hold 0 or 0x10, so
    // the 16-bit shift moves nothing across bytes).
    const __m256i q = _mm256_or_si256(low_pairs32(b.qs), _mm256_srli_epi16(fifth_bits(b.qh), 2));
    return {_mm256_add_epi8(q, q), h2f(b.d), 0.0f};
  }
};

struct FmtQ2_32 {
  using Block = qinfer_block_q2_32;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 3;
  static Decoded decode(const Block &b) {
    const __m256i q = low_pairs32(b.qs);
    return {_mm256_add_epi8(q, q), h2f(b.d), 0.0f};
  }
};

void fill_lowbit_table(Kernels &k) {
  k.gemm[qinfer_type_slot(QINFER_TYPE_Q3_32)] = legacy_kernel<FmtQ3_32>();
  k.gemm[qinfer_type_slot(QINFER_TYPE_Q2_32)] = legacy_kernel<FmtQ2_32>();
}

}  // namespace
}  // namespace qinfer::cpu
