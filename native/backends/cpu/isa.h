// CPU instruction-set levels of the kernels; one level is chosen at load (cpuid, lowered by QINFER_CPU_ISA).
#pragma once

#include <string>

namespace qinfer::cpu {

// Ordered: each level needs everything the ones below need.
// AVX2: avx2+fma+f16c+bmi2. AVX512: + avx512 f/bw/dq/vl. AVX512VNNI: + avx512_vnni (its kernels also
// use avx512_bf16 instructions, but only where cpuid reports them).
enum class Isa { GENERIC = 0, AVX2 = 1, AVX512 = 2, AVX512VNNI = 3 };
constexpr int kIsaCount = 4;

const char *isa_name(Isa isa);

// Highest level this CPU and OS support.
Isa isa_supported();

// The level in use: the supported one, or QINFER_CPU_ISA when it names a lower one. Naming a
// level the CPU lacks (or an unknown name) throws qinfer::Error: it is refused, never run.
// Read on every call so that tests can switch levels within one process.
Isa isa_active();

// The level called `name`, refused (qinfer::Error) when unknown or beyond this CPU; `what` names the
// setting in the message.
Isa isa_from_name(const std::string &name, const char *what);

// Whether the AVX512VNNI level may also use avx512_bf16 instructions on this CPU.
bool cpu_has_avx512bf16();

}  // namespace qinfer::cpu
