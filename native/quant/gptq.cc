// GPTQ over format blocks: dampened Hessian, Cholesky-based inverse factor, optional block activation order,
// and the row-parallel block loop with error propagation.
#include "gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"

namespace qinfer::quant {
namespace {

// In-place lower Cholesky factor of an n x n symmetric matrix (row-major); false if not positive definite.
bool cholesky_lower(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    double d = a[size_t(j * n + j)];
    for (int64_t k = 0; k < j; k++) d -= a[size_t(j * n + k)] * a[size_t(j * n + k)];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[size_t(j * n + j)] = d;
    for (int64_t i = j + 1; i < n; i++) {
      double s = a[size_t(i * n + j)];
      for (int64_t k = 0; k < j; k++) s -= a[size_t(i * n + k)] * a[size_t(j * n + k)];
      a[size_t(i * n + j)] = s / d;
    }
    for (int64_t k = j + 1; k < n; k++) a[size_t(j * n + k)] = 0;
  }
  return true;
}

// U with Uᵀ U = H⁻¹ (U upper). With J the reversal permutation and J H J = M Mᵀ (M lower),
// H⁻¹ = (J M⁻¹ J)ᵀ (J M⁻¹ J) and J M⁻¹ J is upper: one Cholesky factor and one triangular inverse, where
// inverting H and factoring the inverse again costs twice the arithmetic. Reversing both indices of a
// row-major matrix is reversing its storage.
bool inverse_upper_factor(std::vector<double> h, int64_t n, std::vector<double> &u) {
  std::reverse(h.begin(), h.end());
  if (!cholesky_lower(h, n)) return false;
  // X = M⁻¹ row by row (row i combines the rows above it), so every inner loop runs along a row.
  u.assign(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; i++) {
    double *xi = u.data() + i * n;
    const double *mi = h.data() + i * n;
    xi[i] = 1.0;
    for (int64_t k = 0; k < i; k++) {
      const double c = mi[k];
      const double *xk = u.data() + k * n;
      for (int64_t j = 0; j <= k; j++) xi[j] -= c * xk[j];
    }
    const double inv = 1.0 / mi[i];
    for (int64_t j = 0; j <= i; j++) xi[j] *= inv;
  }
  std::reverse(u.begin(), u.end());
  return true;
}

}  // namespace

void gptq_quantize(const QuantTraits &t, float *w, int64_t rows, int64_t cols, const double *hessian,
                   const GptqOptions &o, uint8_t *dst, ThreadPool *pool, const std::atomic<bool> *abort) {
  if (!t.quantize_weighted || cols % t.block_size != 0)
    throw Error(QINFER_E_INVALID_ARGUMENT, std::string("GPTQ cannot quantize rows of ") + std::to_string(cols) + " into " + t.name);
  const int64_t bs = t.block_size, n_blocks = cols / bs;
  std::vector<double> h(hessian, hessian + cols * cols);
  std::vector<float> importance(static_cast<size_t>(cols));
  double mean_diag = 0;
  for (int64_t j = 0; j < cols; j++) {
    double &d = h[size_t(j * cols + j)];
    if (d <= 0) {
      // A column no calibration token ever activated: its weights cannot matter, so they quantize as zero.
      d = 1;
      for (int64_t r = 0; r < rows; r++) w[r * cols + j] = 0;
    }
    importance[size_t(j)] = float(d);
    mean_diag += d / double(cols);
  }
  // Block order: left to right, or by decreasing diagonal mass (activation order at block granularity, since a
  // block's columns are stored together).
  std::vector<int64_t> order(static_cast<size_t>(n_blocks));
  std::iota(order.begin(), order.end(), 0);
  if (o.act_order) {
    std::vector<double> mass(size_t(n_blocks), 0.0);
    for (int64_t j = 0; j < cols; j++) mass[size_t(j / bs)] += h[size_t(j * cols + j)];
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return mass[size_t(a)] > mass[size_t(b)]; });
  }
  std::vector<int64_t> perm(static_cast<size_t>(cols));  // permuted position -> original column
  for (int64_t b = 0; b < n_blocks; b++)
    for (int64_t k = 0; k < bs; k++) perm[size_t(b * bs + k)] = order[size_t(b)] * bs + k;
  std::vector<double> hp(static_cast<size_t>(cols * cols));
  for (int64_t i = 0; i < cols; i++)
    for (int64_t j = 0; j < cols; j++) hp[size_t(i * cols + j)] = h[size_t(perm[size_t(i)] * cols + perm[size_t(j)])];
  std::vector<double> u;
  double damp = o.damp;
  for (int attempt = 0;; attempt++) {
    std::vector<double> damped = hp;
    for (int64_t j = 0; j < cols; j++) damped[size_t(j * cols + j)] += damp * mean_diag;
    if (inverse_upper_factor(std::move(damped), cols, u)) break;
    if (attempt == 8) throw Error(QINFER_E_INVALID_ARGUMENT, "GPTQ: the calibration Hessian is not positive definite even with dampening");
    damp = std::max(damp * 10, 1e-4);
  }
  std::vector<float> uf(u.begin(), u.end());
  const size_t row_stride = row_bytes(t, cols);

  auto do_rows = [&](int64_t r0, int64_t r1) {
    std::vector<float> wp(static_cast<size_t>(cols)), q(static_cast<size_t>(bs)), err(static_cast<size_t>(bs)), imp(static_cast<size_t>(bs));
    for (int64_t r = r0; r < r1; r++) {
      if (abort && abort->load(std::memory_order_relaxed)) throw Error(QINFER_E_ABORTED, "quantization was aborted");
      float *row = w + r * cols;
      for (int64_t j = 0; j < cols; j++) wp[size_t(j)] = row[perm[size_t(j)]];
      for (int64_t b = 0; b < n_blocks; b++) {
        const int64_t j0 = b * bs, orig = order[size_t(b)];
        for (int64_t k = 0; k < bs; k++) imp[size_t(k)] = importance[size_t(orig * bs + k)];
        uint8_t *block = dst + size_t(r) * row_stride + size_t(orig) * size_t(t.type_size);
        t.quantize_weighted(wp.data() + j0, block, bs, imp.data());
        t.dequantize(block, q.data(), bs);
        // err·U_bb = E (U_bb upper triangular), then the remaining columns absorb err·U_b,rest.
        for (int64_t k = 0; k < bs; k++) {
          double e = double(wp[size_t(j0 + k)]) - q[size_t(k)];
          for (int64_t i = 0; i < k; i++) e -= double(err[size_t(i)]) * uf[size_t((j0 + i) * cols + j0 + k)];
          err[size_t(k)] = float(e / uf[size_t((j0 + k) * cols + j0 + k)]);
        }
        for (int64_t k = 0; k < bs; k++) {
          const float ek = err[size_t(k)];
          const float *urow = uf.data() + (j0 + k) * cols;
          for (int64_t j = j0 + bs; j < cols; j++) wp[size_t(j)] -= ek * urow[j];
        }
        for (int64_t k = 0; k < bs; k++) wp[size_t(j0 + k)] = q[size_t(k)];
      }
      for (int64_t j = 0; j < cols; j++) row[perm[size_t(j)]] = wp[size_t(j)];
    }
  };
  const int64_t grain = std::max<int64_t>(1, 16384 / cols);
  if (pool)
    pool->parallel_for(rows, grain, do_rows);
  else
    do_rows(0, rows);
}

}  // namespace qinfer::quant
