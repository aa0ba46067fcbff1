// CPU instruction-set levels and the kernel table each level provides; one level is chosen at load.
#pragma once

#include <cstdint>
#include <string>

namespace qinfer::cpu {

enum class Isa { GENERIC = 0, AVX2 = 1, AVX512 = 2 };

const char *isa_name(Isa isa);

// Highest level this CPU and OS support: AVX2 needs avx2+fma+f16c+bmi2, AVX512 needs f/bw/vl.
Isa isa_supported();

// The level in use: the supported one, or QINFER_CPU_ISA when it names a lower one. Naming a
// level the CPU lacks (or an unknown name) throws qinfer::Error: it is refused, never run.
Isa isa_active();

struct Kernels {
  void (*add_f32)(const float *a, const float *b, float *dst, int64_t n);
  // y[r] = dot(W row r, x) over rows [r0, r1); W row-major F32 with `cols` columns.
  void (*matvec_f32)(const float *w, const float *x, float *y, int64_t r0, int64_t r1, int64_t cols);
};

const Kernels &kernels_generic();
const Kernels &kernels_avx2();
const Kernels &kernels_avx512();

// The table of isa_active().
const Kernels &kernels();

}  // namespace qinfer::cpu
