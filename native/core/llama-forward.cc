// Forward pass: embedding, per layer RMSNorm -> QKV (+bias) -> RoPE -> cached grouped-query attention -> output
// projection -> residual -> RMSNorm -> SwiGLU MLP -> residual, then the final norm and the vocabulary projection.
#include "core/llama-forward.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace qinfer {

RopeParams rope_params_of(const LlamaModel &model) {
  const LlamaHparams &hp = model.hparams();
  RopeParams p;
  p.head_dim = hp.head_dim;
  p.n_rot = hp.n_rot;
  p.layout = hp.rope_layout;
  p.theta = hp.rope_theta;
  p.freq_scale = hp.rope_freq_scale;
  p.freq_factors = model.rope_freqs() ? model.rope_freqs().f32() : nullptr;
  p.ext_factor = hp.rope_ext_factor;
  p.attn_factor = hp.rope_attn_factor;
  if (hp.rope_ext_factor != 0.0f) yarn_corr_dims(hp.n_rot, hp.rope_yarn_orig_ctx, hp.rope_theta, hp.rope_yarn_beta_fast, hp.rope_yarn_beta_slow, p.corr_dims);
  return p;
}

LlamaForward::LlamaForward(const LlamaModel &model, ModelOps &ops, KvCache &cache, int32_t max_batch)
    : model_(model), ops_(ops), cache_(cache), max_batch_(max_batch) {
  const LlamaHparams &hp = model.hparams();
  const size_t b = size_t(max_batch), n_q = size_t(hp.n_head) * hp.head_dim, n_kv = size_t(hp.n_head_kv) * hp.head_dim;
  x_.resize(b * hp.n_embd);
  h_.resize(b * hp.n_embd);
  q_.resize(b * n_q);
  k_.resize(b * n_kv);
  v_.resize(b * n_kv);
  attn_.resize(b * n_q);
  gate_.resize(b * hp.n_ff);
  up_.resize(b * hp.n_ff);
  ids_.resize(b);
  pos_.resize(b);
  k_dst_.resize(b);
  v_dst_.resize(b);
  rows_.resize(b);
  rope_ = rope_params_of(model);
  for (const Weight *w : {&model.tok_embd(), &model.output()}) {
    if (!ops.supports_weight(w->type)) throw Error(QINFER_E_UNSUPPORTED, "the backend cannot compute with weights of type id " + std::to_string(w->type));
  }
  for (const LlamaLayer &l : model.layers()) {
    for (const Weight *w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      if (!ops.supports_weight(w->type)) throw Error(QINFER_E_UNSUPPORTED, "the backend cannot compute with weights of type id " + std::to_string(w->type));
    }
  }
}

uint64_t LlamaForward::scratch_bytes() const {
  return 4 * uint64_t(x_.size() + h_.size() + q_.size() + k_.size() + v_.size() + attn_.size() + gate_.size() + up_.size());
}

bool LlamaForward::eval(const std::vector<BatchToken> &batch, float *logits, const std::atomic<bool> *abort) {
  const LlamaHparams &hp = model_.hparams();
  const int64_t n = int64_t(batch.size());
  if (n == 0) return true;
  if (n > max_batch_) throw Error(QINFER_E_INTERNAL, "batch of " + std::to_string(n) + " tokens exceeds " + std::to_string(max_batch_));
  const int64_t d = hp.n_embd, n_q = int64_t(hp.n_head) * hp.head_dim, n_kv = int64_t(hp.n_head_kv) * hp.head_dim;
  const size_t row = cache_.row_bytes();
  for (int64_t t = 0; t < n; ++t) {
    ids_[t] = batch[t].token;
    pos_[t] = batch[t].pos;
    rows_[t].n_kv = batch[t].pos + 1;
  }
  AttentionShape shape;
  shape.n_head = hp.n_head;
  shape.n_head_kv = hp.n_head_kv;
  shape.head_dim = hp.head_dim;
  shape.kv_type = cache_.type();
  shape.stride = cache_.n_ctx();
  shape.scale = 1.0f / std::sqrt(float(hp.head_dim));

  float *x = x_.data(), *h = h_.data();
  ops_.embed(model_.tok_embd(), ids_.data(), n, x);
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    if (abort && abort->load(std::memory_order_relaxed)) return false;
    const LlamaLayer &l = model_.layers()[size_t(il)];
    ops_.rms_norm(x, l.attn_norm.f32(), n, d, hp.rms_eps, h);
    if (observer_) observer_(il, LinearInput::kAttnIn, h, n, d);
    const Weight *qkv[] = {&l.wq, &l.wk, &l.wv};
    float *qkv_out[] = {q_.data(), k_.data(), v_.data()};
    ops_.matmul_same_input(qkv, qkv_out, 3, h, n);
    if (l.bq) ops_.add_bias(q_.data(), l.bq.f32(), n, n_q);
    if (l.bk) ops_.add_bias(k_.data(), l.bk.f32(), n, n_kv);
    if (l.bv) ops_.add_bias(v_.data(), l.bv.f32(), n, n_kv);
    ops_.rope(q_.data(), n, hp.n_head, pos_.data(), rope_);
    ops_.rope(k_.data(), n, hp.n_head_kv, pos_.data(), rope_);
    for (int64_t t = 0; t < n; ++t) {
      uint8_t *kb = cache_.k(il, batch[t].seq), *vb = cache_.v(il, batch[t].seq);
      k_dst_[t] = kb + size_t(batch[t].pos) * row;
      v_dst_[t] = vb + size_t(batch[t].pos) * row;
      rows_[t].k = kb;
      rows_[t].v = vb;
    }
    ops_.store_kv(k_.data(), n, shape, k_dst_.data());
    ops_.store_kv(v_.data(), n, shape, v_dst_.data());
    ops_.attention(q_.data(), n, rows_.data(), shape, attn_.data());
    if (observer_) observer_(il, LinearInput::kAttnOut, attn_.data(), n, n_q);
    ops_.matmul(l.wo, attn_.data(), n, h);
    ops_.add(x, h, n * d);
    ops_.rms_norm(x, l.ffn_norm.f32(), n, d, hp.rms_eps, h);
    if (observer_) observer_(il, LinearInput::kFfnIn, h, n, d);
    const Weight *gate_up[] = {&l.w_gate, &l.w_up};
    float *gate_up_out[] = {gate_.data(), up_.data()};
    ops_.matmul_same_input(gate_up, gate_up_out, 2, h, n);
    ops_.swiglu(gate_.data(), up_.data(), n * hp.n_ff);
    if (observer_) observer_(il, LinearInput::kFfnDownIn, gate_.data(), n, hp.n_ff);
    ops_.matmul(l.w_down, gate_.data(), n, h);
    ops_.add(x, h, n * d);
  }
  if (observer_) {
    ops_.rms_norm(x, model_.output_norm().f32(), n, d, hp.rms_eps, h);
    observer_(-1, LinearInput::kOutputIn, h, n, d);
  }
  // Only the rows that want logits go through the final norm and the (large) vocabulary projection.
  int64_t m = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (!batch[t].logits) continue;
    if (m != t) std::copy(x + t * d, x + (t + 1) * d, x + m * d);
    ++m;
  }
  if (m == 0) return true;
  ops_.rms_norm(x, model_.output_norm().f32(), m, d, hp.rms_eps, h);
  ops_.matmul(model_.output(), h, m, logits);
  return true;
}

}  // namespace qinfer
