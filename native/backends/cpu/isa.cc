// Picks the CPU kernel level, honouring QINFER_CPU_ISA only downwards.
#include "isa.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/cpu-info.h"
#include "core/error.h"

namespace qinfer::cpu {

const char *isa_name(Isa isa) {
  switch (isa) {
    case Isa::AVX512VNNI: return "avx512vnni";
    case Isa::AVX512: return "avx512";
    case Isa::AVX2: return "avx2";
    default: return "generic";
  }
}

Isa isa_supported() {
  const CpuFeatures &f = cpu_info().features;
  if (!(f.avx2 && f.fma && f.f16c && f.bmi2)) return Isa::GENERIC;
  if (!(f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl)) return Isa::AVX2;
  return f.avx512vnni ? Isa::AVX512VNNI : Isa::AVX512;
}

bool cpu_has_avx512bf16() { return cpu_info().features.avx512bf16; }

Isa isa_from_name(const std::string &name, const char *what) {
  Isa best = isa_supported();
  int want = -1;
  for (int i = 0; i < kIsaCount; i++)
    if (name == isa_name(Isa(i))) want = i;
  if (want < 0)
    throw Error(QINFER_E_INVALID_ARGUMENT,
                std::string("Expected one of generic, avx2, avx512, avx512vnni for ") + what + " but received " + name);
  if (want > int(best))
    throw Error(QINFER_E_UNSUPPORTED, std::string(what) + "=" + name + " is not supported by this CPU (best level: " +
                                          isa_name(best) + ")");
  return Isa(want);
}

Isa isa_active() {
  const char *env = std::getenv("QINFER_CPU_ISA");
  if (!env || !*env) return isa_supported();
  return isa_from_name(env, "QINFER_CPU_ISA");
}

}  // namespace qinfer::cpu
