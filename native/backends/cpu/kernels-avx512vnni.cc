// The AVX-512 + VNNI kernel table (8-bit dot products with vpdpbusd); compiled with -mavx512vnni, run only when cpuid reports it.
#define QINFER_USE_VNNI 1
#include "simd-avx512.h"

namespace qinfer::cpu {
namespace {
constexpr int kFloatRows = 4, kFloatTokens = 4;
}  // namespace
}  // namespace qinfer::cpu

#include "matmul-float-impl.h"

namespace qinfer::cpu {

const Kernels &kernels_avx512vnni() {
  static const Kernels k = [] {
    Kernels t{};
    t.isa = Isa::AVX512VNNI;
    fill_float_table(t);
    return t;
  }();
  return k;
}

}  // namespace qinfer::cpu
