// Static activation calibrators: from a histogram of |x| over the calibration text, the clipping threshold c whose
// int8 scale c / 127 W8A8 static stores (MinMax, percentile, MSE-optimal, entropy/KL as TensorRT's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qinfer::quant {

enum class ActCalibrator : int32_t { kMinMax = 0, kPercentile = 1, kMse = 2, kKl = 3 };

// Parses "minmax" | "percentile" | "mse" | "kl"; throws Error(E_INVALID_ARGUMENT) otherwise.
ActCalibrator parse_act_calibrator(const std::string &name);

// Counts of |x| in `bins` equal bins over [0, range]; range must be known before the first value (the exact maximum
// from a first pass), values above it land in the last bin.
class AbsHistogram {
 public:
  static constexpr int32_t kBins = 2048;
  explicit AbsHistogram(double range = 0, int32_t bins = kBins);

  // Adds |x[i] * mul[i % cols]| for n values (mul null: |x[i]|).
  void add(const float *x, int64_t n, const float *mul = nullptr, int64_t cols = 0);
  double range() const { return range_; }
  double amax() const { return amax_; }  // the largest |x| seen, exactly
  double total() const { return total_; }
  const std::vector<double> &counts() const { return counts_; }
  double bin_width() const { return counts_.empty() ? 0 : range_ / double(counts_.size()); }

 private:
  double range_, inv_width_, amax_ = 0, total_ = 0;
  std::vector<double> counts_;
};

struct ActCalibration {
  ActCalibrator calibrator = ActCalibrator::kPercentile;
  double percentile = 99.99;  // kPercentile: the share of |x| kept inside the range, in percent
};

// The clipping threshold (> 0 unless every value was 0): never above the largest |x|.
double calibrate_clip(const AbsHistogram &h, const ActCalibration &c);

}  // namespace qinfer::quant
