// The AVX-512 + VNNI kernel table (8-bit dot products with vpdpbusd); compiled with -mavx512vnni, run only when cpuid reports it.
#define QINFER_USE_VNNI 1
#include "simd-avx512.h"

namespace qinfer::cpu {
namespace {
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

const Kernels &kernels_avx512vnni() {
  static const Kernels k = [] {
    Kernels t{};
    t.isa = Isa::AVX512VNNI;
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
