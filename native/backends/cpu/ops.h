// The operators of a Llama forward pass on host memory (F32 activations), for the graph and the CPU backend.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/thread-pool.h"
#include "kernels.h"

namespace qinfer::cpu {

// out[i] = row ids[i] of a rows x cols table of ggml type `type`, dequantized (embedding lookup).
// Throws on an id outside [0, rows).
void get_rows(int32_t type, const void *table, int64_t rows, int64_t cols, const int32_t *ids, int64_t n_ids, float *out);

// y = x / sqrt(mean(x^2) + eps) * weight, per row of n (weight may be null: no scaling). y may be x.
void rms_norm(const Kernels &k, const float *x, const float *weight, float *y, int64_t n_rows, int64_t n, float eps);

// Rotary position embedding, in place on x[token][head][head_dim].
struct RopeParams {
  int64_t head_dim = 0;
  int64_t n_dims = 0;  // leading dimensions rotated (<= head_dim, even); the rest pass through
  bool neox = false;   // NeoX: pairs (i, i + n_dims/2); normal (GPT-J/llama): pairs (2i, 2i+1)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear scaling: position * freq_scale
  // Optional per-pair divisors of the frequency (llama3-style rope scaling), n_dims / 2 entries.
  const float *freq_factors = nullptr;
  // YaRN: with ext_factor != 0, pair i turns at freq_scale * f + ramp * (f - freq_scale * f) for its frequency f,
  // ramp = ext_factor * (1 - clamp((i - corr_low) / max(0.001, corr_high - corr_low), 0, 1)).
  float ext_factor = 0.0f;
  float corr_low = 0.0f, corr_high = 0.0f;
  float attn_factor = 1.0f;  // cos and sin are multiplied by this
};
void rope(float *x, int64_t n_tokens, int64_t n_heads, const int32_t *positions, const RopeParams &p);

// Numerically stable softmax of each row of n, in place.
void softmax(const Kernels &k, float *x, int64_t n_rows, int64_t n);

// out = silu(gate) * up, n elements (SwiGLU). out may alias either input.
void silu_mul(const Kernels &k, const float *gate, const float *up, float *out, int64_t n);

// Index of the largest element (the first one on ties); n > 0.
int64_t argmax(const float *x, int64_t n);

// The k largest elements in descending order (ties: lower index first); k <= n.
void top_k(const float *x, int64_t n, int64_t k, int32_t *ids, float *values);

// Attention over a head-major cache ([n_kv_heads][head_stride positions][head_dim] of kv_type: F32,
// F16, or Q8_0 with head_dim a multiple of 32), the layout of core/kv-cache.h.
struct AttentionShape {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // divides n_heads; query head h reads cache head h / (n_heads / n_kv_heads)
  int64_t head_dim = 0;
  int32_t kv_type = 0;
  int64_t head_stride = 0;  // positions between consecutive heads
  float scale = 1.0f;       // on q.k, usually 1/sqrt(head_dim)
};

// One query token's view of its sequence's cache: positions [0, n_kv) (causality: n_kv = position + 1).
struct AttentionQuery {
  const void *k = nullptr;
  const void *v = nullptr;
  int64_t n_kv = 0;
};

// Bytes of one cached head row.
uint64_t kv_row_bytes(int32_t kv_type, int64_t head_dim);

// Stores n tokens of K or V (src: [token][n_kv_heads][head_dim] F32) at dst[token] (the token's
// position row in head 0), converting to kv_type.
void kv_store(const float *src, int64_t n, const AttentionShape &s, void *const *dst);

// out[t][h] = softmax(scale * q[t][h] . K) V over the query's cache positions; q and out are
// [n][n_heads][head_dim]. Work is split over (token, cache head) pairs.
void attention(const Kernels &k, ThreadPool &pool, const float *q, int64_t n, const AttentionQuery *queries,
               const AttentionShape &s, float *out);

}  // namespace qinfer::cpu
