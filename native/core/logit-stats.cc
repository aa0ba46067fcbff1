// Log-softmax statistics in double precision, one row at a time.
#include "core/logit-stats.h"

#include <cmath>

namespace qinfer {
namespace {

struct RowMax {
  float value;
  int64_t index;
};

RowMax row_max(const float *x, int64_t n) {
  RowMax m{x[0], 0};
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] > m.value) m = {x[i], i};
  }
  return m;
}

double log_sum_exp(const float *x, int64_t n, float mx) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(double(x[i] - mx));
  return double(mx) + std::log(s);
}

}  // namespace

void logit_stats(const float *logits, const float *ref, int64_t rows, int64_t n_vocab, const int32_t *targets, double *nll,
                 double *kl, uint8_t *top1, double *ref_nll) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *l = logits + r * n_vocab;
    const RowMax m = row_max(l, n_vocab);
    const double lse = log_sum_exp(l, n_vocab, m.value);
    nll[r] = lse - double(l[targets[r]]);
    if (!ref) continue;
    const float *q = ref + r * n_vocab;
    const RowMax mq = row_max(q, n_vocab);
    const double lse_q = log_sum_exp(q, n_vocab, mq.value);
    double k = 0;
    for (int64_t i = 0; i < n_vocab; ++i) {
      const double log_p = double(q[i]) - lse_q;
      k += std::exp(log_p) * (log_p - (double(l[i]) - lse));
    }
    kl[r] = k > 0 ? k : 0;  // rounding can leave a tiny negative for identical distributions
    top1[r] = m.index == mq.index;
    ref_nll[r] = lse_q - double(q[targets[r]]);
  }
}

}  // namespace qinfer
