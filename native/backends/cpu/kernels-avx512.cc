// The AVX-512 (F/BW/DQ/VL) kernel table; this unit alone is compiled with those flags and runs only when cpuid says so.
#include "simd-avx512.h"

namespace qinfer::cpu {
namespace {
// 32 zmm registers: 4 rows x 4 tokens of accumulators.
constexpr int kFloatRows = 4, kFloatTokens = 4;
constexpr int kQuantRows = 4, kQuantTokens = 4;
}  // namespace
}  // namespace qinfer::cpu

#include "matmul-float-impl.h"
#include "matmul-kquant-impl.h"
#include "matmul-legacy-impl.h"
#include "matmul-kquant-avx512-impl.h"
#include "matmul-q4-avx512-impl.h"

namespace qinfer::cpu {

const Kernels &kernels_avx512() {
  static const Kernels k = [] {
    Kernels t{};
    t.isa = Isa::AVX512;
    fill_float_table(t);
    fill_legacy_table(t);
    fill_kquant_table(t);
    fill_q4_avx512(t);
    fill_kquant_avx512(t);
    return t;
  }();
  return k;
}

}  // namespace qinfer::cpu
