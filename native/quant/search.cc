// Scale searches for the quantizers: an exact sweep over rounding patterns for scale-only grids and a
// grid-plus-refinement search for scale-and-minimum grids.
#include "search.h"

#include <algorithm>
#include <vector>

namespace qinfer::quant {
namespace {

struct Event {
  float t;     // inverse scale at which element i moves to the next level
  int16_t i;
  int8_t step;  // +1 or -1 level
};

struct SweepResult {
  double score = 0;  // (sum w x l)^2 / (sum w l^2): the error reduction of the best pattern
  float d = 0;
};

// Sweeps the inverse scale t over [t_lo, t_hi]: each element's rounded level changes only at
// t = midpoint / x, so visiting those events in order visits every rounding pattern a positive scale
// in the window produces.
SweepResult sweep(const float *x, const float *w, int n, const float *levels, int nlev, float sign, float t_lo,
                  float t_hi, std::vector<Event> &events, uint8_t *idx) {
  events.clear();
  uint8_t cur[256];
  double a = 0, b = 0;
  for (int i = 0; i < n; i++) {
    const float xi = sign * x[i];
    cur[i] = uint8_t(nearest_level(levels, nlev, t_lo * xi));
    const float v = levels[cur[i]];
    a += double(w[i]) * xi * v;
    b += double(w[i]) * v * v;
    if (xi > 0) {
      for (int k = cur[i]; k + 1 < nlev; k++) {
        float t = 0.5f * (levels[k] + levels[k + 1]) / xi;
        if (t > t_hi) break;
        events.push_back({t, int16_t(i), 1});
      }
    } else if (xi < 0) {
      for (int k = cur[i]; k > 0; k--) {
        float t = 0.5f * (levels[k] + levels[k - 1]) / xi;
        if (t > t_hi) break;
        events.push_back({t, int16_t(i), -1});
      }
    }
  }
  std::sort(events.begin(), events.end(), [](const Event &p, const Event &q) { return p.t < q.t; });
  SweepResult best;
  if (b > 0) best = {a * a / b, float(a / b)};
  size_t best_count = 0;
  std::copy(cur, cur + n, idx);
  for (size_t e = 0; e < events.size(); e++) {
    const Event &ev = events[e];
    const float xi = sign * x[ev.i];
    const float lo = levels[cur[ev.i]], hi = levels[cur[ev.i] + ev.step];
    a += double(w[ev.i]) * xi * (hi - lo);
    b += double(w[ev.i]) * (double(hi) * hi - double(lo) * lo);
    cur[ev.i] = uint8_t(cur[ev.i] + ev.step);
    if (b > 0 && a * a / b > best.score) {
      best = {a * a / b, float(a / b)};
      best_count = e + 1;
    }
  }
  for (size_t e = 0; e < best_count; e++) idx[events[e].i] = uint8_t(idx[events[e].i] + events[e].step);
  return best;
}

struct Fit {
  float d = 0, m = 0;
};

// Least-squares d, m for x ~ d * q + m given q; m clamped to <= 0 when the format cannot store more.
Fit fit_scale_min(const float *x, const float *w, int n, const uint8_t *q, bool positive_min) {
  double sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
  for (int i = 0; i < n; i++) {
    sw += w[i];
    sq += double(w[i]) * q[i];
    sqq += double(w[i]) * q[i] * q[i];
    sx += double(w[i]) * x[i];
    sxq += double(w[i]) * x[i] * q[i];
  }
  double det = sw * sqq - sq * sq;
  Fit f;
  if (det > 0) {
    f.d = float((sw * sxq - sx * sq) / det);
    f.m = float((sqq * sx - sq * sxq) / det);
  } else if (sw > 0) {
    f.m = float(sx / sw);
  }
  if (!positive_min && f.m > 0) f = {sqq > 0 ? float(sxq / sqq) : 0.f, 0.f};
  return f;
}

double affine_error(const float *x, const float *w, int n, const uint8_t *q, float d, float m) {
  double err = 0;
  for (int i = 0; i < n; i++) {
    double diff = double(x[i]) - (double(d) * q[i] + m);
    err += w[i] * diff * diff;
  }
  return err;
}

void round_affine(const float *x, int n, int nmax, float d, float m, uint8_t *q) {
  float id = d > 0 ? 1.f / d : 0.f;
  for (int i = 0; i < n; i++) q[i] = uint8_t(std::clamp(nearest_int((x[i] - m) * id), 0, nmax));
}

}  // namespace

const float *nonzero_weights(const float *w, int n) {
  static const std::vector<float> ones(256, 1.f);
  for (int i = 0; i < n; i++)
    if (w[i] > 0) return w;
  return ones.data();
}

int nearest_level(const float *levels, int nlev, float v) {
  int k = int(std::lower_bound(levels, levels + nlev, v) - levels);
  if (k == nlev) return nlev - 1;
  if (k > 0 && v - levels[k - 1] <= levels[k] - v) return k - 1;
  return k;
}

float best_scale(const float *x, const float *w, int n, const float *levels, int nlev, uint8_t *idx, float window) {
  thread_local std::vector<Event> events;
  w = nonzero_weights(w, n);
  float amax = 0;
  for (int i = 0; i < n; i++) amax = std::max(amax, std::fabs(x[i]));
  // Full sweep from t = 0, or the window around the scale that maps the extreme to the outer level.
  const float t_ref = amax > 0 ? std::max(-levels[0], levels[nlev - 1]) / amax : 0.f;
  const float t_lo = window > 0 ? t_ref / window : 0.f;
  const float t_hi = window > 0 ? t_ref * window : INFINITY;
  uint8_t neg_idx[256];
  SweepResult pos = sweep(x, w, n, levels, nlev, 1.f, t_lo, t_hi, events, idx);
  SweepResult neg = sweep(x, w, n, levels, nlev, -1.f, t_lo, t_hi, events, neg_idx);
  if (neg.score > pos.score) {
    std::copy(neg_idx, neg_idx + n, idx);
    return -neg.d;
  }
  return pos.d;
}

double scaled_error(const float *x, const float *w, int n, const float *levels, const uint8_t *idx, float d) {
  double err = 0;
  for (int i = 0; i < n; i++) {
    double diff = double(x[i]) - double(d) * levels[idx[i]];
    err += w[i] * diff * diff;
  }
  return err;
}

double best_scale_min(const float *x, const float *w, int n, int nmax, bool positive_min, float *d, float *m,
                      uint8_t *q) {
  w = nonzero_weights(w, n);
  float lo = *std::min_element(x, x + n), hi = *std::max_element(x, x + n);
  if (!positive_min) lo = std::min(lo, 0.f);
  if (hi <= lo) {
    std::fill(q, q + n, uint8_t(0));
    *d = 0;
    *m = lo;
    return affine_error(x, w, n, q, 0, lo);
  }
  uint8_t cand[256];
  double best = -1;
  // The grid llama.cpp searches (stretching the range by up to one level either way), then refinement.
  for (int step = -20; step <= 20; step++) {
    float iscale = (float(nmax) + 0.05f * step) / (hi - lo);
    for (int i = 0; i < n; i++) cand[i] = uint8_t(std::clamp(nearest_int(iscale * (x[i] - lo)), 0, nmax));
    Fit f = fit_scale_min(x, w, n, cand, positive_min);
    if (step == 0 && f.d <= 0) f = {1.f / iscale, lo};
    double err = affine_error(x, w, n, cand, f.d, f.m);
    if (best < 0 || err < best) {
      best = err;
      *d = f.d;
      *m = f.m;
      std::copy(cand, cand + n, q);
    }
  }
  for (int iter = 0; iter < 8 && *d > 0; iter++) {
    round_affine(x, n, nmax, *d, *m, cand);
    Fit f = fit_scale_min(x, w, n, cand, positive_min);
    double err = affine_error(x, w, n, cand, f.d, f.m);
    if (!(err < best)) break;
    best = err;
    *d = f.d;
    *m = f.m;
    std::copy(cand, cand + n, q);
  }
  return best;
}

}  // namespace qinfer::quant
