// The super-block search shared by the K-quants and IQ4_XS: best scale (and min) per group, then the
// super-block scales and integer codes, then local code moves and least-squares refits of the
// super-block scales, always measured by the weighted error of the values the format decodes.
#include <algorithm>
#include <cmath>

#include "kquants.h"
#include "search.h"

namespace qinfer::quant {
namespace {

const IntLevels kLevels0to3(0, 3), kLevels0to15(0, 15), kLevels0to31(0, 31);
const IntLevels kLevelsM4to3(-4, 3), kLevelsM32to31(-32, 31);
const float kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Rounds a group against decoded scale dl and min ml; returns its weighted error.
double round_group(const KSpec &s, const float *x, const float *w, float dl, float ml, uint8_t *q) {
  const int zero = nearest_level(s.levels, s.nlev, 0.f);
  const float inv = dl != 0 ? 1.f / dl : 0.f;
  const int lo = int(s.levels[0]);
  double err = 0;
  for (int i = 0; i < s.group; i++) {
    if (dl == 0)
      q[i] = uint8_t(zero);
    else if (s.uniform)
      q[i] = uint8_t(std::clamp(nearest_int((x[i] + ml) * inv), lo, lo + s.nlev - 1) - lo);
    else
      q[i] = uint8_t(nearest_level(s.levels, s.nlev, (x[i] + ml) * inv));
    double diff = double(x[i]) - double(dl * s.levels[q[i]] - ml);
    err += w[i] * diff * diff;
  }
  return err;
}

// Best code for value v on the integer grid lo..hi at scale D.
int code_for(float v, float D, int lo, int hi) { return D != 0 ? std::clamp(nearest_int(v / D), lo, hi) : 0; }

// Least-squares super-block scales given every group's codes and levels; false when degenerate.
bool refit(const KSpec &s, const float *x, const float *w, const KBlock &k, float *d, float *dmin) {
  double uu = 0, uv = 0, vv = 0, xu = 0, xv = 0;
  for (int i = 0; i < QINFER_QK_K; i++) {
    const int g = i / s.group;
    double u = double(k.sc[g]) * s.levels[k.q[i]], v = -double(k.mn[g]);
    uu += w[i] * u * u;
    uv += w[i] * u * v;
    vv += w[i] * v * v;
    xu += w[i] * x[i] * u;
    xv += w[i] * x[i] * v;
  }
  if (!s.has_min || vv <= 0) {
    if (uu <= 0) return false;
    *d = float(xu / uu);
    *dmin = k.dmin;
    return true;
  }
  double det = uu * vv - uv * uv;
  if (det <= 1e-12 * uu * vv) return false;
  *d = float((xu * vv - xv * uv) / det);
  *dmin = float((uu * xv - uv * xu) / det);
  return *d > 0 && *dmin >= 0;
}

float fp16_round(float v) { return qinfer_half_to_f32(qinfer_f32_to_half(v)); }

constexpr int kReach = 2;

// Per group, the best codes within kReach steps of the current ones; returns the block's error.
double improve_codes(const KSpec &s, const float *x, const float *w, KBlock &k) {
  double total = 0;
  uint8_t q[32];
  for (int g = 0; g < QINFER_QK_K / s.group; g++) {
    const float *xg = x + g * s.group, *wg = w + g * s.group;
    double best = -1;
    int bc = k.sc[g], bm = k.mn[g];
    for (int dc = -kReach; dc <= kReach; dc++) {
      for (int dm = s.has_min ? -kReach : 0; dm <= (s.has_min ? kReach : 0); dm++) {
        int c = k.sc[g] + dc, m = k.mn[g] + dm;
        if (c < s.sc_lo || c > s.sc_hi || m < 0 || m > s.mn_hi) continue;
        double err = round_group(s, xg, wg, k.d * float(c), k.dmin * float(m), q);
        if (best < 0 || err < best) {
          best = err;
          bc = c;
          bm = m;
          std::copy(q, q + s.group, k.q + g * s.group);
        }
      }
    }
    k.sc[g] = bc;
    k.mn[g] = bm;
    total += best;
  }
  return total;
}

double round_all(const KSpec &s, const float *x, const float *w, KBlock &k) {
  double total = 0;
  for (int g = 0; g < QINFER_QK_K / s.group; g++)
    total += round_group(s, x + g * s.group, w + g * s.group, k.d * float(k.sc[g]), k.dmin * float(k.mn[g]),
                         k.q + g * s.group);
  return total;
}

}  // namespace

const KSpec kSpecQ2K{16, kLevels0to3.v, 4, true, true, 0, 15, 15};
const KSpec kSpecQ3K{16, kLevelsM4to3.v, 8, true, false, -32, 31, 0};
const KSpec kSpecQ4K{32, kLevels0to15.v, 16, true, true, 0, 63, 63};
const KSpec kSpecQ5K{32, kLevels0to31.v, 32, true, true, 0, 63, 63};
const KSpec kSpecQ6K{16, kLevelsM32to31.v, 64, true, false, -128, 127, 0};
const KSpec kSpecIQ4XS{32, kIq4Values, 16, false, false, -32, 31, 0};

void search_superblock(const KSpec &s, const float *x, const float *w, KBlock &k) {
  w = nonzero_weights(w, QINFER_QK_K);
  const int ng = QINFER_QK_K / s.group;
  float scale[16], min[16], scale_weight[16], min_weight[16];
  uint8_t q[32];
  // 1. Each group's own best scale (and min), and how much its error grows as that scale moves.
  for (int g = 0; g < ng; g++) {
    const float *xg = x + g * s.group, *wg = w + g * s.group;
    float d = 0, m = 0;
    if (s.has_min)
      best_scale_min(xg, wg, s.group, s.nlev - 1, false, &d, &m, q);
    else
      d = best_scale(xg, wg, s.group, s.levels, s.nlev, q, s.nlev > 16 ? 1.6f : 0.f);
    double sl = 0, sw = 0;
    for (int i = 0; i < s.group; i++) {
      sl += double(wg[i]) * s.levels[q[i]] * s.levels[q[i]];
      sw += wg[i];
    }
    scale[g] = d;
    min[g] = -m;
    scale_weight[g] = float(sl);
    min_weight[g] = float(sw);
  }
  // 2. Super-block scales: the same exact search, over the groups' scales on the code grid.
  uint8_t idx[16];
  const IntLevels codes(s.sc_lo, s.sc_hi), min_codes(0, std::max(s.mn_hi, 1));
  k.d = fp16_round(best_scale(scale, scale_weight, ng, codes.v, codes.n, idx, codes.n > 16 ? 1.5f : 0.f));
  k.dmin = s.has_min ? fp16_round(best_scale(min, min_weight, ng, min_codes.v, min_codes.n, idx, min_codes.n > 16 ? 1.5f : 0.f)) : 0.f;
  for (int g = 0; g < ng; g++) {
    k.sc[g] = code_for(scale[g], k.d, s.sc_lo, s.sc_hi);
    k.mn[g] = s.has_min ? code_for(min[g], k.dmin, 0, s.mn_hi) : 0;
  }
  // 3. Alternate local code moves with refits of the super-block scales while the error falls.
  double err = improve_codes(s, x, w, k);
  for (int iter = 0; iter < 4; iter++) {
    KBlock trial = k;
    float d, dmin;
    if (!refit(s, x, w, k, &d, &dmin)) break;
    trial.d = fp16_round(d);
    trial.dmin = fp16_round(dmin);
    round_all(s, x, w, trial);
    double e = improve_codes(s, x, w, trial);
    if (!(e < err)) break;
    err = e;
    k = trial;
  }
}

float dot_superblock(const KSpec &s, const KBlock &k, const qinfer_block_q8_k &a) {
  int64_t isum = 0, msum = 0;
  for (int g = 0; g < QINFER_QK_K / s.group; g++) {
    int32_t sg = 0;
    for (int i = g * s.group; i < (g + 1) * s.group; i++) sg += int32_t(s.levels[k.q[i]]) * a.qs[i];
    isum += int64_t(k.sc[g]) * sg;
    if (s.has_min) {
      int32_t bs = 0;
      for (int j = g * s.group / 16; j < (g + 1) * s.group / 16; j++) bs += a.bsums[j];
      msum += int64_t(k.mn[g]) * bs;
    }
  }
  return a.d * (k.d * float(isum) - k.dmin * float(msum));
}

void dequantize_superblock(const KSpec &s, const KBlock &k, float *y) {
  for (int g = 0; g < QINFER_QK_K / s.group; g++) {
    const float dl = k.d * float(k.sc[g]), ml = k.dmin * float(k.mn[g]);
    for (int i = g * s.group; i < (g + 1) * s.group; i++) y[i] = dl * s.levels[k.q[i]] - ml;
  }
}

}  // namespace qinfer::quant
