// The AVX-512 + VNNI kernel table (8-bit dot products with vpdpbusd, BF16 with vdpbf16ps where cpuid
// reports avx512_bf16, Q8_0/Q4_0 batches on AMX tiles where cpuid and the OS allow them); compiled with
// -mavx512vnni, run only when cpuid reports it.
#define QINFER_USE_VNNI 1
#include "kernels-avx512-table.h"

namespace qinfer::cpu {

const Kernels &kernels_avx512vnni() {
  static const Kernels k = [] {
    Kernels t = avx512_table(Isa::AVX512VNNI);
    if (cpu_has_avx512bf16()) t.gemm[QINFER_TYPE_BF16] = gemm_bf16_avx512bf16();
    if (amx_available())
      for (int32_t type : {QINFER_TYPE_Q8_0, QINFER_TYPE_Q4_0}) t.gemm[type] = gemm_amx(type, t.gemm[type]);
    return t;
  }();
  return k;
}

}  // namespace qinfer::cpu
