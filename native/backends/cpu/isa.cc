// Picks the CPU kernel level once, honouring QINFER_CPU_ISA only downwards.
#include "isa.h"

#include <cstdlib>
#include <cstring>

#include "core/cpu-info.h"
#include "core/error.h"

namespace qinfer::cpu {

const char *isa_name(Isa isa) {
  switch (isa) {
    case Isa::AVX512: return "avx512";
    case Isa::AVX2: return "avx2";
    default: return "generic";
  }
}

Isa isa_supported() {
  const CpuFeatures &f = cpu_info().features;
  if (f.avx2 && f.fma && f.f16c && f.bmi2 && f.avx512f && f.avx512bw && f.avx512vl) return Isa::AVX512;
  if (f.avx2 && f.fma && f.f16c && f.bmi2) return Isa::AVX2;
  return Isa::GENERIC;
}

Isa isa_active() {
  Isa best = isa_supported();
  const char *env = std::getenv("QINFER_CPU_ISA");
  if (!env || !*env) return best;
  Isa want;
  if (!std::strcmp(env, "generic")) want = Isa::GENERIC;
  else if (!std::strcmp(env, "avx2")) want = Isa::AVX2;
  else if (!std::strcmp(env, "avx512")) want = Isa::AVX512;
  else
    throw Error(QINFER_E_INVALID_ARGUMENT, std::string("Expected one of generic, avx2, avx512 for QINFER_CPU_ISA but received ") + env);
  if (int(want) > int(best))
    throw Error(QINFER_E_UNSUPPORTED, std::string("QINFER_CPU_ISA=") + env + " is not supported by this CPU (best level: " +
                                          isa_name(best) + ")");
  return want;
}

const Kernels &kernels() {
  switch (isa_active()) {
    case Isa::AVX512: return kernels_avx512();
    case Isa::AVX2: return kernels_avx2();
    default: return kernels_generic();
  }
}

}  // namespace qinfer::cpu
