// The AVX-512 + VNNI kernel table (8-bit dot products with vpdpbusd, BF16 with vdpbf16ps where cpuid
// reports avx512_bf16); compiled with -mavx512vnni, run only when cpuid reports it.
#define QINFER_USE_VNNI 1
#include "kernels-avx512-table.h"

namespace qinfer::cpu {

const Kernels &kernels_avx512vnni() {
  static const Kernels k = [] {
    Kernels t = avx512_table(Isa::AVX512VNNI);
    if (cpu_has_avx512bf16()) t.gemm[QINFER_TYPE_BF16] = gemm_bf16_avx512bf16();
    return t;
  }();
  return k;
}

}  // namespace qinfer::cpu
