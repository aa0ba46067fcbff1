// The body of the two AVX-512 units (with and without VNNI): register tiles and the kernel table.
// QINFER_USE_VNNI, when defined before this header, makes the 8-bit dot products use vpdpbusd.
#pragma once

#include "simd-avx512.h"

namespace qinfer::cpu {
namespace {
// 32 zmm registers: 4 rows x 6 tokens of float accumulators (+4 weight rows and a token) fit, and
// convert each F16 weight vector for 6 tokens (one core in L2: F16 97 -> 111, F32 58 -> 78 GFLOP/s
// against 4 x 4); the quantized tiles keep int32 and float accumulators, so 4 x 4 there.
constexpr int kFloatRows = 4, kFloatTokens = 6;
constexpr int kQuantRows = 4, kQuantTokens = 4;
}  // namespace
}  // namespace qinfer::cpu

#include "matmul-float-impl.h"
#include "matmul-kquant-avx512-impl.h"
#include "matmul-kquant-impl.h"
#include "matmul-legacy-impl.h"
#include "matmul-lanes-avx512-impl.h"
#include "matmul-lowbit-impl.h"
#include "matmul-q4-avx512-impl.h"
#include "matmul-w8a8-impl.h"
#include "ops-simd-impl.h"

namespace qinfer::cpu {
namespace {

Kernels avx512_table(Isa isa) {
  Kernels t{};
  t.isa = isa;
  fill_float_table(t);
  fill_legacy_table(t);
  fill_lowbit_table(t);
  fill_kquant_table(t);
  fill_lanes_avx512(t);
  fill_kquant_avx512(t);
  fill_w8a8(t);
  fill_ops_simd(t);
  return t;
}

}  // namespace
}  // namespace qinfer::cpu
