// Scalar kernels: the reference every SIMD level is tested against, and the fallback on any CPU.
#include "isa.h"

namespace qinfer::cpu {
namespace {

void add_f32(const float *a, const float *b, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}

void matvec_f32(const float *w, const float *x, float *y, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float *row = w + r * cols;
    double acc = 0;
    for (int64_t c = 0; c < cols; c++) acc += double(row[c]) * x[c];
    y[r] = float(acc);
  }
}

}  // namespace

const Kernels &kernels_generic() {
  static const Kernels k{add_f32, matvec_f32};
  return k;
}

}  // namespace qinfer::cpu
