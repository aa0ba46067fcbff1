// CPU forward-pass operations (scalar for now).
#include "core/cpu-model-ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "qinfer/ggml-types.h"

namespace qinfer {
namespace {

float half_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {
      int e = -1;
      do { ++e; man <<= 1; } while (!(man & 0x400));
      u = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | man << 13;
  } else {
    u = sign | (exp + 112) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_half(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  int32_t exp = int32_t((u >> 23) & 0xff) - 127 + 15;
  uint32_t man = u & 0x7fffff;
  if (exp >= 31) return uint16_t(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return uint16_t(sign);
    man |= 0x800000;
    uint32_t shift = uint32_t(14 - exp);
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = sign | uint32_t(exp) << 10 | man >> 13, rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return uint16_t(h);
}

void row_to_f32(const Weight &w, int64_t r, float *out) {
  const uint8_t *p = w.data + size_t(r) * w.row_bytes;
  if (w.type == QINFER_TYPE_F32) {
    std::memcpy(out, p, size_t(w.cols) * 4);
  } else if (w.type == QINFER_TYPE_F16) {
    for (int64_t i = 0; i < w.cols; ++i) out[i] = half_to_f32(reinterpret_cast<const uint16_t *>(p)[i]);
  } else {
    for (int64_t i = 0; i < w.cols; ++i) {
      uint32_t u = uint32_t(reinterpret_cast<const uint16_t *>(p)[i]) << 16;
      std::memcpy(out + i, &u, 4);
    }
  }
}

class CpuModelOps : public ModelOps {
 public:
  bool supports_weight(int32_t type) const override {
    return type == QINFER_TYPE_F32 || type == QINFER_TYPE_F16 || type == QINFER_TYPE_BF16;
  }
  int32_t threads() const override { return 1; }

  void matmul(const Weight &w, const float *x, int64_t n, float *y) override {
    row_.resize(size_t(w.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
      row_to_f32(w, r, row_.data());
      for (int64_t t = 0; t < n; ++t) {
        const float *xt = x + t * w.cols;
        float s = 0;
        for (int64_t i = 0; i < w.cols; ++i) s += row_[i] * xt[i];
        y[t * w.rows + r] = s;
      }
    }
  }

  void embed(const Weight &w, const int32_t *ids, int64_t n, float *out) override {
    for (int64_t t = 0; t < n; ++t) row_to_f32(w, ids[t], out + t * w.cols);
  }

  void rms_norm(const float *x, const float *g, int64_t n, int64_t dim, float eps, float *y) override {
    for (int64_t t = 0; t < n; ++t) {
      const float *xt = x + t * dim;
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i) ss += double(xt[i]) * xt[i];
      float scale = float(1.0 / std::sqrt(ss / double(dim) + eps));
      for (int64_t i = 0; i < dim; ++i) y[t * dim + i] = xt[i] * scale * g[i];
    }
  }

  void rope(float *x, int64_t n, int32_t n_heads, const int32_t *pos, const RopeParams &p) override {
    for (int64_t t = 0; t < n; ++t) {
      for (int32_t h = 0; h < n_heads; ++h) {
        float *v = x + (t * n_heads + h) * p.head_dim;
        for (int32_t i = 0; i < p.n_rot / 2; ++i) {
          float freq = std::pow(p.theta, -2.0f * float(i) / float(p.n_rot));
          if (p.freq_factors) freq /= p.freq_factors[i];
          float angle = float(pos[t]) * p.freq_scale * freq, c = std::cos(angle), s = std::sin(angle);
          int32_t a = p.layout == RopeLayout::kNeox ? i : 2 * i, b = p.layout == RopeLayout::kNeox ? i + p.n_rot / 2 : 2 * i + 1;
          float x0 = v[a], x1 = v[b];
          v[a] = x0 * c - x1 * s;
          v[b] = x0 * s + x1 * c;
        }
      }
    }
  }

  void store_kv(const float *src, int64_t n, int32_t n_head_kv, int32_t head_dim, int32_t kv_type, int64_t stride,
                void *const *dst) override {
    const size_t elem = kv_type == QINFER_TYPE_F32 ? 4 : 2;
    for (int64_t t = 0; t < n; ++t) {
      for (int32_t h = 0; h < n_head_kv; ++h) {
        const float *s = src + (t * n_head_kv + h) * head_dim;
        uint8_t *d = static_cast<uint8_t *>(dst[t]) + size_t(h) * size_t(stride) * size_t(head_dim) * elem;
        if (kv_type == QINFER_TYPE_F32) {
          std::memcpy(d, s, size_t(head_dim) * 4);
        } else {
          for (int32_t i = 0; i < head_dim; ++i) reinterpret_cast<uint16_t *>(d)[i] = f32_to_half(s[i]);
        }
      }
    }
  }

  void attention(const float *q, int64_t n, const AttentionRow *rows, const AttentionShape &s, float *out) override {
    const int32_t group = s.n_head / s.n_head_kv, hd = s.head_dim;
    const size_t elem = s.kv_type == QINFER_TYPE_F32 ? 4 : 2;
    std::vector<float> score, kv(static_cast<size_t>(hd));
    for (int64_t t = 0; t < n; ++t) {
      const AttentionRow &r = rows[t];
      score.resize(size_t(r.n_kv));
      for (int32_t h = 0; h < s.n_head; ++h) {
        const float *qh = q + (t * s.n_head + h) * hd;
        const size_t head_off = size_t(h / group) * size_t(s.stride) * size_t(hd) * elem;
        auto load = [&](const void *base, int32_t j) {
          const uint8_t *p = static_cast<const uint8_t *>(base) + head_off + size_t(j) * size_t(hd) * elem;
          for (int32_t i = 0; i < hd; ++i) {
            kv[i] = s.kv_type == QINFER_TYPE_F32 ? reinterpret_cast<const float *>(p)[i] : half_to_f32(reinterpret_cast<const uint16_t *>(p)[i]);
          }
        };
        float mx = -INFINITY;
        for (int32_t j = 0; j < r.n_kv; ++j) {
          load(r.k, j);
          float d = 0;
          for (int32_t i = 0; i < hd; ++i) d += qh[i] * kv[i];
          score[j] = d * s.scale;
          mx = std::max(mx, score[j]);
        }
        float sum = 0;
        for (int32_t j = 0; j < r.n_kv; ++j) sum += score[j] = std::exp(score[j] - mx);
        float *o = out + (t * s.n_head + h) * hd;
        std::fill(o, o + hd, 0.0f);
        for (int32_t j = 0; j < r.n_kv; ++j) {
          load(r.v, j);
          for (int32_t i = 0; i < hd; ++i) o[i] += score[j] / sum * kv[i];
        }
      }
    }
  }

  void swiglu(float *gate, const float *up, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  }
  void add(float *x, const float *y, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
  }
  void add_bias(float *x, const float *b, int64_t n, int64_t dim) override {
    for (int64_t t = 0; t < n; ++t) add(x + t * dim, b, dim);
  }

 private:
  std::vector<float> row_;
};

}  // namespace

std::unique_ptr<ModelOps> make_cpu_model_ops(int32_t) { return std::make_unique<CpuModelOps>(); }

}  // namespace qinfer
