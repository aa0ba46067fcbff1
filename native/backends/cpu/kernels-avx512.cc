// The AVX-512 (F/BW/DQ/VL) kernel table; this unit alone is compiled with those flags and runs only when cpuid says so.
#include "kernels-avx512-table.h"

namespace qinfer::cpu {

const Kernels &kernels_avx512() {
  static const Kernels k = avx512_table(Isa::AVX512);
  return k;
}

}  // namespace qinfer::cpu
