// The AVX2 kernel table; this unit alone is compiled with -mavx2 -mfma -mf16c -mbmi2 and runs only when cpuid says so.
#include "simd-avx2.h"

namespace qinfer::cpu {
namespace {
// 16 ymm registers: 4 rows x 2 tokens of accumulators leave room for the operands.
constexpr int kFloatRows = 4, kFloatTokens = 2;
constexpr int kQuantRows = 2, kQuantTokens = 2;
}  // namespace
}  // namespace qinfer::cpu

#include "matmul-float-impl.h"
#include "matmul-kquant-impl.h"
#include "matmul-legacy-impl.h"
#include "matmul-lowbit-impl.h"
#include "matmul-w8a8-impl.h"
#include "ops-simd-impl.h"

namespace qinfer::cpu {

const Kernels &kernels_avx2() {
  static const Kernels k = [] {
    Kernels t{};
    t.isa = Isa::AVX2;
    fill_float_table(t);
    fill_legacy_table(t);
    fill_lowbit_table(t);
    fill_kquant_table(t);
    fill_w8a8(t);
    fill_ops_simd(t);
    return t;
  }();
  return k;
}

}  // namespace qinfer::cpu
