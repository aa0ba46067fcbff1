// CPU forward-pass operations: the kernel table's matrix products and the CPU operators, on this model's thread pool.
#include "core/cpu-model-ops.h"

#include "backends/cpu/matmul.h"
#include "backends/cpu/ops.h"
#include "core/thread-pool.h"
#include "quant/reference.h"

namespace qinfer {
namespace {

cpu::AttentionShape cpu_shape(const AttentionShape &s) {
  cpu::AttentionShape c;
  c.n_heads = s.n_head;
  c.n_kv_heads = s.n_head_kv;
  c.head_dim = s.head_dim;
  c.kv_type = s.kv_type;
  c.head_stride = s.stride;
  c.scale = s.scale;
  return c;
}

class CpuModelOps : public ModelOps {
  static constexpr int kMaxSameInput = 4;

 public:
  explicit CpuModelOps(int32_t threads) : k_(cpu::kernels()), pool_(threads) {}

  bool supports_weight(int32_t type) const override {
    if (type == QINFER_TYPE_W8A8) return k_.w8a8.gemm != nullptr;
    return cpu::matmul_supported(k_, type) && quant::quant_traits(type);
  }
  int32_t threads() const override { return pool_.size(); }

  void matmul(const Weight &w, const float *x, int64_t n, float *y) override {
    if (w.type == QINFER_TYPE_W8A8) return cpu::matmul_w8a8(k_, pool_, w.data, w.scale, w.rows, w.cols, x, w.cols, n, y, w.rows, w.act_scale);
    cpu::matmul(k_, pool_, w.type, w.data, w.rows, w.cols, x, w.cols, n, y, w.rows);
  }

  void matmul_same_input(const Weight *const *w, float *const *y, int count, const float *x, int64_t n) override {
    bool same = count <= kMaxSameInput && w[0]->type != QINFER_TYPE_W8A8;
    for (int i = 1; i < count && same; i++) same = w[i]->type == w[0]->type && w[i]->cols == w[0]->cols;
    if (!same) return ModelOps::matmul_same_input(w, y, count, x, n);
    const void *data[kMaxSameInput];
    int64_t rows[kMaxSameInput];
    for (int i = 0; i < count; i++) data[i] = w[i]->data, rows[i] = w[i]->rows;
    cpu::matmul_same_input(k_, pool_, w[0]->type, data, rows, y, count, w[0]->cols, x, n);
  }

  void embed(const Weight &w, const int32_t *ids, int64_t n, float *out) override {
    cpu::get_rows(w.type, w.data, w.rows, w.cols, ids, n, out);
  }

  // Rows and elements split over the pool, so that batches do not leave the other threads idle.
  void rms_norm(const float *x, const float *g, int64_t n, int64_t dim, float eps, float *y) override {
    pool_.parallel_for(n, 4, [&](int64_t r0, int64_t r1) { cpu::rms_norm(k_, x + r0 * dim, g, y + r0 * dim, r1 - r0, dim, eps); });
  }

  void rope(float *x, int64_t n, int32_t n_heads, const int32_t *pos, const RopeParams &p) override {
    cpu::RopeParams c;
    c.head_dim = p.head_dim;
    c.n_dims = p.n_rot;
    c.neox = p.layout == RopeLayout::kNeox;
    c.freq_base = p.theta;
    c.freq_scale = p.freq_scale;
    c.freq_factors = p.freq_factors;
    c.ext_factor = p.ext_factor;
    c.attn_factor = p.attn_factor;
    c.corr_low = p.corr_dims[0];
    c.corr_high = p.corr_dims[1];
    cpu::rope(x, n, n_heads, pos, c);
  }

  void store_kv(const float *src, int64_t n, const AttentionShape &s, void *const *dst) override {
    cpu::kv_store(src, n, cpu_shape(s), dst);
  }

  void attention(const float *q, int64_t n, const AttentionRow *rows, const AttentionShape &s, float *out) override {
    queries_.resize(size_t(n));
    for (int64_t t = 0; t < n; ++t) queries_[size_t(t)] = {rows[t].k, rows[t].v, rows[t].n_kv};
    cpu::attention(k_, pool_, q, n, queries_.data(), cpu_shape(s), out);
  }

  void swiglu(float *gate, const float *up, int64_t n) override {
    pool_.parallel_for(n, 16384, [&](int64_t i0, int64_t i1) { cpu::silu_mul(k_, gate + i0, up + i0, gate + i0, i1 - i0); });
  }

  void add(float *x, const float *y, int64_t n) override { k_.add_f32(x, y, x, n); }

  void add_bias(float *x, const float *b, int64_t n, int64_t dim) override {
    for (int64_t t = 0; t < n; ++t) k_.add_f32(x + t * dim, b, x + t * dim, dim);
  }

 private:
  const cpu::Kernels &k_;
  ThreadPool pool_;
  std::vector<cpu::AttentionQuery> queries_;
};

}  // namespace

std::unique_ptr<ModelOps> make_cpu_model_ops(int32_t threads) { return std::make_unique<CpuModelOps>(threads); }

}  // namespace qinfer
