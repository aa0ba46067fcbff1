// Weighted least-squares searches shared by the quantizers: the best scale for a level grid, the best
// scale and offset for an unsigned grid, and the rounding helpers they use.
#pragma once

#include <cmath>
#include <cstdint>

namespace qinfer::quant {

// Rounding to nearest with ties to even, the rounding ggml's K-quant code uses.
inline int nearest_int(float v) { return int(std::lrintf(v)); }

// Finds d and indices idx[i] into `levels` (ascending, at most 256 entries) minimising
// sum_i w[i] * (x[i] - d * levels[idx[i]])^2, for n <= 256. Exact over the scales searched: every
// rounding pattern that some scale of either sign produces is visited. window = 0 searches all scales;
// window = f > 1 only those within a factor f of the one mapping max|x| to the outermost level (for
// fine grids, where far scales cannot win and the full sweep costs n * levels events). Returns d
// (0 when x is all zero).
float best_scale(const float *x, const float *w, int n, const float *levels, int nlev, uint8_t *idx,
                 float window = 0);

// w, or uniform weights when every entry of w is zero (n <= 256): a group no column gives importance
// still gets the plain least-squares fit instead of an arbitrary one.
const float *nonzero_weights(const float *w, int n);

// Index of the level nearest to v (levels ascending).
int nearest_level(const float *levels, int nlev, float v);

// Weighted squared error of x against d * levels[idx[i]].
double scaled_error(const float *x, const float *w, int n, const float *levels, const uint8_t *idx, float d);

// x[i] ~ d * q[i] + m with q in 0..nmax (formats that store a minimum; m <= 0 unless positive_min):
// searches the scale grid around the full range, then alternates least-squares fits and re-rounding.
// Returns the weighted squared error; d, m and q receive the best fit.
double best_scale_min(const float *x, const float *w, int n, int nmax, bool positive_min, float *d, float *m,
                      uint8_t *q);

// Level index grid for integers lo..hi, as floats (for best_scale).
struct IntLevels {
  float v[256];
  int n;
  IntLevels(int lo, int hi) : n(hi - lo + 1) {
    for (int i = 0; i < n; i++) v[i] = float(lo + i);
  }
};

}  // namespace qinfer::quant
