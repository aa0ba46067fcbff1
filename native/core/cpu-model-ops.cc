// CPU forward-pass operations: matrix products from the per-ISA kernel table, the rest as row-parallel loops on the
// same thread pool (attention over the F16/F32 cache uses the table's dot and axpy primitives).
#include "core/cpu-model-ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/matmul.h"
#include "core/thread-pool.h"
#include "quant/reference.h"
#include "qinfer/ggml-types.h"

namespace qinfer {
namespace {

class CpuModelOps : public ModelOps {
 public:
  explicit CpuModelOps(int32_t threads) : k_(cpu::kernels()), pool_(threads) {}

  bool supports_weight(int32_t type) const override { return cpu::matmul_supported(k_, type) && quant::quant_traits(type); }
  int32_t threads() const override { return pool_.size(); }

  void matmul(const Weight &w, const float *x, int64_t n, float *y) override {
    cpu::matmul(k_, pool_, w.type, w.data, w.rows, w.cols, x, w.cols, n, y, w.rows);
  }

  void embed(const Weight &w, const int32_t *ids, int64_t n, float *out) override {
    const quant::QuantTraits *t = quant::quant_traits(w.type);
    for (int64_t i = 0; i < n; ++i) t->dequantize(w.data + size_t(ids[i]) * w.row_bytes, out + i * w.cols, w.cols);
  }

  void rms_norm(const float *x, const float *g, int64_t n, int64_t dim, float eps, float *y) override {
    pool_.parallel_for(n, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const float *xt = x + t * dim;
        float *yt = y + t * dim;
        const float scale = 1.0f / std::sqrt(k_.dot_f32(xt, xt, dim) / float(dim) + eps);
        for (int64_t i = 0; i < dim; ++i) yt[i] = xt[i] * scale * g[i];
      }
    });
  }

  void rope(float *x, int64_t n, int32_t n_heads, const int32_t *pos, const RopeParams &p) override {
    const int32_t half = p.n_rot / 2;
    if (inv_freq_.size() != size_t(half) || rope_theta_ != p.theta || rope_factors_ != p.freq_factors) {
      inv_freq_.resize(size_t(half));
      for (int32_t i = 0; i < half; ++i) {
        double f = std::pow(double(p.theta), -2.0 * i / p.n_rot);
        inv_freq_[size_t(i)] = p.freq_factors ? f / p.freq_factors[i] : f;
      }
      rope_theta_ = p.theta;
      rope_factors_ = p.freq_factors;
    }
    pool_.parallel_for(n, 1, [&](int64_t t0, int64_t t1) {
      std::vector<float> cs(size_t(2 * half));
      for (int64_t t = t0; t < t1; ++t) {
        for (int32_t i = 0; i < half; ++i) {
          const double angle = double(pos[t]) * double(p.freq_scale) * inv_freq_[size_t(i)];
          cs[size_t(2 * i)] = float(std::cos(angle));
          cs[size_t(2 * i + 1)] = float(std::sin(angle));
        }
        for (int32_t h = 0; h < n_heads; ++h) {
          float *v = x + (t * n_heads + h) * p.head_dim;
          for (int32_t i = 0; i < half; ++i) {
            const int32_t a = p.layout == RopeLayout::kNeox ? i : 2 * i, b = p.layout == RopeLayout::kNeox ? i + half : 2 * i + 1;
            const float c = cs[size_t(2 * i)], s = cs[size_t(2 * i + 1)], x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
          }
        }
      }
    });
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
          k_.f32_to_f16(s, reinterpret_cast<qinfer_half *>(d), head_dim);
        }
      }
    }
  }

  void attention(const float *q, int64_t n, const AttentionRow *rows, const AttentionShape &s, float *out) override {
    const int32_t group = s.n_head / s.n_head_kv, hd = s.head_dim;
    const bool f32 = s.kv_type == QINFER_TYPE_F32;
    const size_t elem = f32 ? 4 : 2, head_bytes = size_t(s.stride) * size_t(hd) * elem, row_bytes = size_t(hd) * elem;
    pool_.parallel_for(n * s.n_head, 1, [&](int64_t j0, int64_t j1) {
      std::vector<float> score;
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t t = j / s.n_head;
        const int32_t h = int32_t(j % s.n_head);
        const AttentionRow &r = rows[t];
        const uint8_t *kb = static_cast<const uint8_t *>(r.k) + size_t(h / group) * head_bytes;
        const uint8_t *vb = static_cast<const uint8_t *>(r.v) + size_t(h / group) * head_bytes;
        const float *qh = q + j * hd;
        score.resize(size_t(r.n_kv));
        float mx = -INFINITY;
        for (int32_t i = 0; i < r.n_kv; ++i) {
          const uint8_t *kr = kb + size_t(i) * row_bytes;
          const float d = f32 ? k_.dot_f32(reinterpret_cast<const float *>(kr), qh, hd) : k_.dot_f16(reinterpret_cast<const qinfer_half *>(kr), qh, hd);
          score[size_t(i)] = d * s.scale;
          mx = std::max(mx, score[size_t(i)]);
        }
        float sum = 0;
        for (int32_t i = 0; i < r.n_kv; ++i) sum += score[size_t(i)] = std::exp(score[size_t(i)] - mx);
        float *o = out + j * hd;
        std::fill(o, o + hd, 0.0f);
        const float inv = 1.0f / sum;
        for (int32_t i = 0; i < r.n_kv; ++i) {
          const uint8_t *vr = vb + size_t(i) * row_bytes;
          if (f32) {
            k_.axpy_f32(score[size_t(i)] * inv, reinterpret_cast<const float *>(vr), o, hd);
          } else {
            k_.axpy_f16(score[size_t(i)] * inv, reinterpret_cast<const qinfer_half *>(vr), o, hd);
          }
        }
      }
    });
  }

  void swiglu(float *gate, const float *up, int64_t n) override {
    pool_.parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    });
  }

  void add(float *x, const float *y, int64_t n) override { k_.add_f32(x, y, x, n); }

  void add_bias(float *x, const float *b, int64_t n, int64_t dim) override {
    for (int64_t t = 0; t < n; ++t) k_.add_f32(x + t * dim, b, x + t * dim, dim);
  }

 private:
  const cpu::Kernels &k_;
  ThreadPool pool_;
  std::vector<double> inv_freq_;
  float rope_theta_ = 0;
  const float *rope_factors_ = nullptr;
};

}  // namespace

std::unique_ptr<ModelOps> make_cpu_model_ops(int32_t threads) { return std::make_unique<CpuModelOps>(threads); }

}  // namespace qinfer
