// The operations a Llama forward pass asks of a backend; the graph calls only these, so a GPU backend can supply its own.
#pragma once

#include <cstdint>

#include "core/llama-model.h"

namespace qinfer {

struct RopeParams {
  int32_t head_dim = 0;
  int32_t n_rot = 0;
  RopeLayout layout = RopeLayout::kNormal;
  float theta = 10000.0f;
  float freq_scale = 1.0f;
  const float *freq_factors = nullptr;  // n_rot / 2 divisors of each frequency (Llama 3 scaling), or null
  float ext_factor = 0.0f;              // YaRN: 0 off; else the share of the trained angle kept at and below corr_dims[0] (ramping to 0 at corr_dims[1])
  float attn_factor = 1.0f;             // cos and sin are multiplied by this
  float corr_dims[2] = {0.0f, 0.0f};    // YaRN's correction range (yarn_corr_dims)
};

// The model's RoPE as stored in its hyperparameters (YaRN's correction range derived once here), for
// every forward pass.
RopeParams rope_params_of(const LlamaModel &model);

// One query row's view of its sequence's cache: `n_kv` positions, head-major
// ([n_head_kv][stride][head_dim]) of type `kv_type` (F32, F16 or Q8_0).
struct AttentionRow {
  const void *k = nullptr;
  const void *v = nullptr;
  int32_t n_kv = 0;
};

struct AttentionShape {
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
  int32_t kv_type = 0;
  int64_t stride = 0;  // positions between consecutive heads in the cache
  float scale = 1.0f;
};

class ModelOps {
 public:
  virtual ~ModelOps() = default;
  virtual bool supports_weight(int32_t type) const = 0;
  virtual int32_t threads() const = 0;
  // y[t] = W x[t] for t < n: x is n rows of w.cols floats, y is n rows of w.rows floats.
  virtual void matmul(const Weight &w, const float *x, int64_t n, float *y) = 0;
  // y[i] = W[i] X for `count` matrices taking the same X (a layer's Q/K/V, gate/up); a backend may run
  // them as one product.
  virtual void matmul_same_input(const Weight *const *w, float *const *y, int count, const float *x, int64_t n) {
    for (int i = 0; i < count; i++) matmul(*w[i], x, n, y[i]);
  }
  // out[t] = row ids[t] of w, as floats.
  virtual void embed(const Weight &w, const int32_t *ids, int64_t n, float *out) = 0;
  // y[t] = x[t] / rms(x[t]) * g, n rows of `dim`.
  virtual void rms_norm(const float *x, const float *g, int64_t n, int64_t dim, float eps, float *y) = 0;
  // Rotates each head of n rows (n_heads heads of p.head_dim) by its row's position.
  virtual void rope(float *x, int64_t n, int32_t n_heads, const int32_t *pos, const RopeParams &p) = 0;
  // Stores n rows of K (or V) of s.n_head_kv heads into the cache at dst[t] (the row of the token's position in head 0).
  virtual void store_kv(const float *src, int64_t n, const AttentionShape &s, void *const *dst) = 0;
  // out[t] = softmax(q[t] K^T * scale) V over rows[t], per query head (grouped-query).
  virtual void attention(const float *q, int64_t n, const AttentionRow *rows, const AttentionShape &s, float *out) = 0;
  // gate[i] = silu(gate[i]) * up[i] over n elements.
  virtual void swiglu(float *gate, const float *up, int64_t n) = 0;
  // x[i] += y[i] over n elements.
  virtual void add(float *x, const float *y, int64_t n) = 0;
  // x[t] += b for n rows of dim.
  virtual void add_bias(float *x, const float *b, int64_t n, int64_t dim) = 0;
};

}  // namespace qinfer
