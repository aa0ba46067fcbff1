// The four static activation calibrators over a histogram of |x|. Int8 is symmetric, so |x| carries all they need:
// the grid has 127 steps of c / 127 on each side of zero.
#include "act-calibrators.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "w8a8.h"

namespace qinfer::quant {

ActCalibrator parse_act_calibrator(const std::string &name) {
  if (name == "minmax") return ActCalibrator::kMinMax;
  if (name == "percentile") return ActCalibrator::kPercentile;
  if (name == "mse") return ActCalibrator::kMse;
  if (name == "kl") return ActCalibrator::kKl;
  throw Error(QINFER_E_INVALID_ARGUMENT, "unknown activation calibrator \"" + name + "\" (minmax, percentile, mse or kl)");
}

AbsHistogram::AbsHistogram(double range, int32_t bins)
    : range_(range), inv_width_(range > 0 ? double(bins) / range : 0), counts_(size_t(bins), 0.0) {}

void AbsHistogram::add(const float *x, int64_t n, const float *mul, int64_t cols) {
  const int64_t last = int64_t(counts_.size()) - 1;
  for (int64_t i = 0; i < n; i++) {
    const double v = std::fabs(double(mul ? x[i] * mul[i % cols] : x[i]));
    amax_ = std::max(amax_, v);
    counts_[size_t(std::min(last, int64_t(v * inv_width_)))] += 1;
  }
  total_ += double(n);
}

namespace {

// The smallest c with at least `percentile`% of the values at or below it, interpolated inside its bin.
double percentile_clip(const AbsHistogram &h, double percentile) {
  if (percentile >= 100) return h.amax();
  const std::vector<double> &n = h.counts();
  const double target = h.total() * percentile / 100.0, w = h.bin_width();
  double cum = 0;
  for (size_t k = 0; k < n.size(); k++) {
    if (cum + n[k] >= target && n[k] > 0) return std::min(h.amax(), (double(k) + (target - cum) / n[k]) * w);
    cum += n[k];
  }
  return h.amax();
}

// Expected squared error of quantizing every value with clip c: rounding noise step²/12 inside the range (values
// under half a step round to 0 and lose themselves), the distance to c outside; bins represented by their centres.
double quantization_mse(const std::vector<double> &n, double w, double c) {
  const double step = c / kW8a8Max, noise = step * step / 12;
  double err = 0;
  for (size_t k = 0; k < n.size(); k++) {
    if (n[k] == 0) continue;
    const double v = (double(k) + 0.5) * w;
    err += n[k] * (v > c ? (v - c) * (v - c) : v < step / 2 ? v * v : noise);
  }
  return err;
}

double mse_clip(const AbsHistogram &h) {
  const std::vector<double> &n = h.counts();
  const double w = h.bin_width();
  double best_c = h.amax(), best = quantization_mse(n, w, best_c);
  for (size_t i = 1; i <= n.size(); i++) {
    const double c = double(i) * w, err = quantization_mse(n, w, c);
    if (err < best) best = err, best_c = c;
  }
  return std::min(best_c, h.amax());
}

// TensorRT's entropy calibration: for each candidate of i bins, P is the first i bins with everything beyond
// folded into the last, Q the same bins merged into 128 levels (one per int8 magnitude) and spread back evenly over
// the bins that held values; the threshold is the i whose KL(P || Q) is smallest (the largest such i on ties).
double kl_clip(const AbsHistogram &h) {
  const std::vector<double> &n = h.counts();
  const int64_t bins = int64_t(n.size()), levels = kW8a8Max + 1;
  if (bins <= levels) return h.amax();
  std::vector<double> p(n.size()), q(n.size());
  double tail = 0;
  for (double v : n) tail += v;
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = bins;
  for (int64_t i = 1; i < levels; i++) tail -= n[size_t(i - 1)];
  for (int64_t i = levels; i <= bins; i++) {
    tail -= n[size_t(i - 1)];  // now the mass beyond the first i bins
    std::copy(n.begin(), n.begin() + i, p.begin());
    p[size_t(i - 1)] += tail;
    const int64_t merged = i / levels;
    std::fill(q.begin(), q.begin() + i, 0.0);
    for (int64_t j = 0; j < levels; j++) {
      const int64_t start = j * merged, stop = j == levels - 1 ? i : start + merged;
      double sum = 0, nonzero = 0;
      for (int64_t k = start; k < stop; k++) {
        sum += n[size_t(k)];
        nonzero += p[size_t(k)] > 0;
      }
      if (nonzero > 0)
        for (int64_t k = start; k < stop; k++) q[size_t(k)] = p[size_t(k)] > 0 ? sum / nonzero : 0;
    }
    double p_sum = 0, q_sum = 0;
    for (int64_t k = 0; k < i; k++) p_sum += p[size_t(k)], q_sum += q[size_t(k)];
    if (p_sum <= 0) continue;
    double kl = 0;
    for (int64_t k = 0; k < i; k++) {
      if (p[size_t(k)] <= 0) continue;
      const double pk = p[size_t(k)] / p_sum;
      // A bin P holds and Q lost (only outliers folded into an empty last bin) costs as if Q kept 1e-10 there.
      const double qk = q_sum > 0 && q[size_t(k)] > 0 ? q[size_t(k)] / q_sum : 1e-10;
      kl += pk * std::log(pk / qk);
    }
    if (kl <= best) best = kl, best_i = i;
  }
  return std::min(h.amax(), double(best_i) * h.bin_width());
}

}  // namespace

double calibrate_clip(const AbsHistogram &h, const ActCalibration &c) {
  if (h.amax() <= 0) return 0;
  switch (c.calibrator) {
    case ActCalibrator::kMinMax: return h.amax();
    case ActCalibrator::kPercentile: return percentile_clip(h, c.percentile);
    case ActCalibrator::kMse: return mse_clip(h);
    case ActCalibrator::kKl: return kl_clip(h);
  }
  return h.amax();
}

}  // namespace qinfer::quant
