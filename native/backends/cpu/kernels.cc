// Chooses the kernel table of an ISA level.
#include "kernels.h"

namespace qinfer::cpu {

const Kernels &kernels_for(Isa isa) {
  switch (isa) {
    case Isa::AVX512VNNI: return kernels_avx512vnni();
    case Isa::AVX512: return kernels_avx512();
    case Isa::AVX2: return kernels_avx2();
    default: return kernels_generic();
  }
}

const Kernels &kernels() { return kernels_for(isa_active()); }

}  // namespace qinfer::cpu
