// The device evaluator: the weights uploaded once into backend buffers, the KV cache and activations in device
// memory, and each batch submitted as one list of backend ops (one compute() call), reading back only the logits.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>
#include <unordered_map>

#include "core/device-arena.h"
#include "core/error.h"
#include "core/forward.h"
#include "core/llama-ops.h"
#include "qinfer/ggml-types.h"

namespace qinfer {
namespace {

constexpr uint64_t kWeightChunk = uint64_t(256) << 20;
constexpr uint64_t kStateChunk = uint64_t(1) << 30;
constexpr uint64_t kUploadStep = uint64_t(64) << 20;

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MiB"; }

const char *type_name(int32_t type) {
  const qinfer_type_traits *t = qinfer_type_traits_of(type);
  return t && t->name ? t->name : "unknown";
}

// Free device memory less what the driver keeps for itself, or QINFER_DEVICE_MEMORY_LIMIT when that is smaller.
uint64_t memory_limit(const qinfer_backend *vt, int device, std::string *device_name) {
  qinfer_device_info info{};
  check_backend(vt, vt->device_info(device, &info), "reading the device's memory");
  *device_name = info.name;
  const uint64_t headroom = std::min<uint64_t>(info.memory_free / 10, uint64_t(512) << 20);
  uint64_t limit = info.memory_free - headroom;
  if (const char *env = std::getenv("QINFER_DEVICE_MEMORY_LIMIT"); env && *env) {
    char *end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (*end) throw Error(QINFER_E_INVALID_ARGUMENT, std::string("Expected a number of bytes for QINFER_DEVICE_MEMORY_LIMIT but received ") + env);
    limit = std::min<uint64_t>(limit, v);
  }
  return limit;
}

class DeviceForward : public Forward {
 public:
  DeviceForward(std::shared_ptr<const LlamaModel> model, const qinfer_backend *vt, int device, const EngineOptions &opt);

  bool load(const LoadProgress &progress) override;
  bool eval(const std::vector<BatchToken> &batch, float *logits, const std::atomic<bool> *abort) override;
  void copy_prefix(int32_t src_seq, int32_t dst_seq, int32_t n) override;
  uint64_t kv_bytes() const override { return kv_bytes_; }
  uint64_t kv_resident_bytes() const override { return kv_bytes_; }
  uint64_t scratch_bytes() const override { return scratch_bytes_; }
  uint64_t device_bytes() const override { return weights_.bytes() + state_.bytes(); }
  int32_t threads() const override { return 1; }

 private:
  struct Run {
    int32_t seq;
    int64_t start, len;
  };

  void require(int32_t op, int32_t type, const std::string &what) const;
  void add(int32_t code, int32_t type, std::initializer_list<DeviceRegion> src, DeviceRegion dst, std::array<int64_t, 4> ne,
           std::array<float, 8> params = {});
  // QINFER_OP_ROPE's params for this model (backend.h): base, scale, NeoX, YaRN's ext_factor, attn_factor, correction range.
  std::array<float, 8> rope_params() const;
  struct Placed {
    const Weight *w;
    DeviceRegion *region;
    uint64_t offset;  // inside the region: weights that one product reads together share a region
  };
  DeviceRegion weight(const Weight &w) const {
    if (!w) return {};
    const Placed &p = by_data_.at(w.data);
    return p.region->at(p.offset);
  }
  // Places the weights in one region, back to back, when all are present and of one type; returns whether it did.
  bool place_together(std::initializer_list<const Weight *> ws);
  void place(const Weight &w);
  DeviceRegion kv_slot(int32_t layer, int32_t seq, int kv) const { return cache_[size_t(layer)]->at((uint64_t(seq) * 2 + uint64_t(kv)) * slot_bytes_); }
  // MATMUL of the normed input, then the optional bias and RoPE, ping-ponging between pair[0] and pair[1].
  DeviceRegion project(const Weight &w, const Weight &bias, DeviceRegion *const pair[2], int64_t n, int64_t width, int32_t rope_heads);
  void build(int64_t n, int64_t m, const std::vector<Run> &runs);
  void submit(const char *what);

  std::shared_ptr<const LlamaModel> model_;
  const qinfer_backend *vt_;
  int device_;
  EngineOptions opt_;
  int32_t stride_;  // positions per cache head: n_ctx rounded up to 4, so every head and slot starts on a word
  uint64_t kv_row_, slot_bytes_;
  DeviceArena weights_, state_;
  std::vector<Placed> uploads_;
  std::unordered_map<const uint8_t *, Placed> by_data_;
  // Per layer: Q, K, V (and their biases, if any) back to back, and gate and up: a one-token step reads each
  // group with one product.
  std::vector<bool> qkv_together_, gate_up_together_;
  DeviceRegion *qkv_[2], *gate_up_;
  std::vector<DeviceRegion *> cache_;  // one per layer: [seq][K, V][head][stride][row]
  DeviceRegion *x_[2], *h_, *q_[2], *k_[2], *v_[2], *attn_, *gate_, *up_, *act_, *logits_, *io_;
  std::vector<int32_t> io_host_;  // [ids][positions][positions + 1][logit rows], n_batch each
  std::vector<qinfer_op> ops_;
  std::atomic<bool> loaded_{false};
  uint64_t kv_bytes_ = 0, scratch_bytes_ = 0;
};

DeviceForward::DeviceForward(std::shared_ptr<const LlamaModel> model, const qinfer_backend *vt, int device, const EngineOptions &opt)
    : model_(std::move(model)), vt_(vt), device_(device), opt_(opt), weights_(vt, device, kWeightChunk), state_(vt, device, kStateChunk) {
  const LlamaHparams &hp = model_->hparams();
  const qinfer_type_traits *kt = qinfer_type_traits_of(opt.kv_type);
  if (!kt || !kt->name || hp.head_dim % kt->block_size != 0)
    throw Error(QINFER_E_UNSUPPORTED, std::string("a ") + type_name(opt.kv_type) + " KV cache does not fit heads of " + std::to_string(hp.head_dim));
  stride_ = (opt.n_ctx + 3) / 4 * 4;
  kv_row_ = uint64_t(hp.head_dim / kt->block_size) * uint64_t(kt->type_size);
  slot_bytes_ = kv_row_ * uint64_t(stride_) * uint64_t(hp.n_head_kv);

  std::vector<const Weight *> matrices = {&model_->tok_embd(), &model_->output()};
  std::vector<const Weight *> vectors = {&model_->output_norm(), &model_->rope_freqs()};
  bool biased = false;
  for (const LlamaLayer &l : model_->layers()) {
    for (const Weight *w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) matrices.push_back(w);
    for (const Weight *w : {&l.attn_norm, &l.ffn_norm, &l.bq, &l.bk, &l.bv}) vectors.push_back(w);
    biased = biased || l.bq || l.bk || l.bv;
  }
  for (const Weight *w : matrices) require(QINFER_OP_MATMUL, w->type, std::string("matrix products with ") + type_name(w->type) + " weights");
  require(QINFER_OP_GET_ROWS, model_->tok_embd().type, std::string("embedding lookups in ") + type_name(model_->tok_embd().type));
  require(QINFER_OP_GET_ROWS, QINFER_TYPE_F32, "row gathers");
  require(QINFER_OP_KV_STORE, opt.kv_type, std::string("a ") + type_name(opt.kv_type) + " KV cache (option kvCacheType)");
  require(QINFER_OP_ATTENTION, opt.kv_type, std::string("attention over a ") + type_name(opt.kv_type) + " KV cache (option kvCacheType)");
  for (int32_t op : {QINFER_OP_RMS_NORM, QINFER_OP_ROPE, QINFER_OP_ADD_F32, QINFER_OP_SILU_MUL, QINFER_OP_COPY}) require(op, 0, "op " + std::to_string(op));
  if (biased) require(QINFER_OP_ADD_ROWS, 0, "bias additions");

  for (const LlamaLayer &l : model_->layers()) {
    const bool biases = l.bq || l.bk || l.bv;
    qkv_together_.push_back(place_together({&l.wq, &l.wk, &l.wv}) && (!biases || place_together({&l.bq, &l.bk, &l.bv})));
    gate_up_together_.push_back(place_together({&l.w_gate, &l.w_up}));
  }
  for (const std::vector<const Weight *> *list : {&matrices, &vectors})
    for (const Weight *w : *list) place(*w);
  for (int32_t l = 0; l < hp.n_layer; ++l) cache_.push_back(state_.reserve(2 * uint64_t(opt.n_seq) * slot_bytes_));
  kv_bytes_ = state_.planned();
  const uint64_t b = uint64_t(opt.n_batch) * 4, nq = uint64_t(hp.n_head) * hp.head_dim, nkv = uint64_t(hp.n_head_kv) * hp.head_dim;
  for (auto &x : x_) x = state_.reserve(b * hp.n_embd);
  h_ = state_.reserve(b * hp.n_embd);
  for (int i = 0; i < 2; ++i) {
    q_[i] = state_.reserve(b * nq);
    k_[i] = state_.reserve(b * nkv);
    v_[i] = state_.reserve(b * nkv);
  }
  attn_ = state_.reserve(b * nq);
  for (auto &r : qkv_) r = state_.reserve(4 * (nq + 2 * nkv));
  gate_up_ = state_.reserve(8 * uint64_t(hp.n_ff));
  gate_ = state_.reserve(b * hp.n_ff);
  up_ = state_.reserve(b * hp.n_ff);
  act_ = state_.reserve(b * hp.n_ff);
  logits_ = state_.reserve(b * hp.n_vocab);
  io_ = state_.reserve(4 * b);
  scratch_bytes_ = state_.planned() - kv_bytes_;

  std::string name;
  const uint64_t limit = memory_limit(vt, device, &name), need = weights_.planned() + state_.planned();
  if (need > limit) {
    throw Error(QINFER_E_OUT_OF_MEMORY, "the model needs " + mib(need) + " of device memory (weights " + mib(weights_.planned()) + ", KV cache " +
                                            mib(kv_bytes_) + ", scratch " + mib(scratch_bytes_) + ") but " + name + " has " + mib(limit) +
                                            " to give (free memory less the driver's share, or QINFER_DEVICE_MEMORY_LIMIT): lower contextSize, "
                                            "sequences or batchSize, or pick a smaller model");
  }
  weights_.allocate("the weights");
  state_.allocate("the KV cache and activations");
  io_host_.assign(size_t(opt.n_batch) * 4, 0);
}

void DeviceForward::place(const Weight &w) {
  if (!w || by_data_.count(w.data)) return;  // absent, or already placed (the tied output, a group member)
  Placed p{&w, weights_.reserve(uint64_t(w.rows) * w.row_bytes), 0};
  by_data_[w.data] = p;
  uploads_.push_back(p);
}

bool DeviceForward::place_together(std::initializer_list<const Weight *> ws) {
  uint64_t bytes = 0;
  for (const Weight *w : ws) {
    const Weight &first = **ws.begin();  // matrices share their column count; bias vectors simply follow each other
    if (!*w || w->type != first.type || (w->rows > 1 && w->cols != first.cols) || by_data_.count(w->data)) return false;
    bytes += uint64_t(w->rows) * w->row_bytes;
  }
  DeviceRegion *r = weights_.reserve(bytes);
  uint64_t offset = 0;
  for (const Weight *w : ws) {
    Placed p{w, r, offset};
    by_data_[w->data] = p;
    uploads_.push_back(p);
    offset += uint64_t(w->rows) * w->row_bytes;
  }
  return true;
}

void DeviceForward::require(int32_t op, int32_t type, const std::string &what) const {
  if (!vt_->supports_op(device_, op, type)) throw Error(QINFER_E_UNSUPPORTED, std::string("the ") + vt_->name + " backend cannot run " + what);
}

bool DeviceForward::load(const LoadProgress &progress) {
  uint64_t total = 0, done = 0;
  for (const Placed &p : uploads_) total += uint64_t(p.w->rows) * p.w->row_bytes;
  for (const Placed &p : uploads_) {
    const uint64_t bytes = uint64_t(p.w->rows) * p.w->row_bytes;
    for (uint64_t at = 0; at < bytes; at += kUploadStep) {
      const uint64_t n = std::min(kUploadStep, bytes - at);
      check_backend(vt_, vt_->buffer_write(p.region->buffer, p.region->offset + p.offset + at, p.w->data + at, n), "uploading the weights");
      done += n;
      if (!progress(done, total)) return false;
    }
  }
  model_->release_pages();
  loaded_ = true;
  return true;
}

void DeviceForward::add(int32_t code, int32_t type, std::initializer_list<DeviceRegion> src, DeviceRegion dst, std::array<int64_t, 4> ne,
                        std::array<float, 8> params) {
  qinfer_op op{};
  op.op = code;
  op.type = type;
  int i = 0;
  for (const DeviceRegion &s : src) {
    op.src[i] = s.buffer;
    op.src_offset[i++] = s.offset;
  }
  op.dst = dst.buffer;
  op.dst_offset = dst.offset;
  for (int k = 0; k < 4; ++k) op.ne[k] = ne[size_t(k)];
  for (int k = 0; k < 8; ++k) op.params[k] = params[size_t(k)];
  ops_.push_back(op);
}

std::array<float, 8> DeviceForward::rope_params() const {
  const RopeParams p = rope_params_of(*model_);
  return {p.theta, p.freq_scale, p.layout == RopeLayout::kNeox ? 1.0f : 0.0f, p.ext_factor, p.attn_factor, p.corr_dims[0], p.corr_dims[1], 0.0f};
}

DeviceRegion DeviceForward::project(const Weight &w, const Weight &bias, DeviceRegion *const pair[2], int64_t n, int64_t width, int32_t rope_heads) {
  const LlamaHparams &hp = model_->hparams();
  int cur = 0;
  add(QINFER_OP_MATMUL, w.type, {weight(w), *h_}, *pair[0], {w.cols, w.rows, n, 0});
  if (bias) {
    add(QINFER_OP_ADD_ROWS, 0, {*pair[cur], weight(bias)}, *pair[1 - cur], {width, n, 0, 0});
    cur = 1 - cur;
  }
  if (rope_heads > 0) {
    add(QINFER_OP_ROPE, 0, {*pair[cur], io_->at(uint64_t(opt_.n_batch) * 4), weight(model_->rope_freqs())}, *pair[1 - cur],
        {hp.head_dim, rope_heads, n, hp.n_rot}, rope_params());
    cur = 1 - cur;
  }
  return *pair[cur];
}

void DeviceForward::build(int64_t n, int64_t m, const std::vector<Run> &runs) {
  const LlamaHparams &hp = model_->hparams();
  const uint64_t b4 = uint64_t(opt_.n_batch) * 4;
  const int64_t d = hp.n_embd, nq = int64_t(hp.n_head) * hp.head_dim, nkv = int64_t(hp.n_head_kv) * hp.head_dim;
  const float scale = 1.0f / std::sqrt(float(hp.head_dim));
  ops_.clear();
  int cur = 0;
  add(QINFER_OP_GET_ROWS, model_->tok_embd().type, {weight(model_->tok_embd()), *io_}, *x_[0], {d, hp.n_vocab, n, 0});
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    const LlamaLayer &l = model_->layers()[size_t(il)];
    add(QINFER_OP_RMS_NORM, 0, {*x_[cur], weight(l.attn_norm)}, *h_, {d, n, 0, 0}, {hp.rms_eps});
    DeviceRegion q, k, v;
    if (n == 1 && qkv_together_[size_t(il)]) {
      // One token: Q, K and V in one product, then Q and K rotated as one row of n_head + n_head_kv heads.
      Weight qkv = l.wq;
      qkv.rows = nq + 2 * nkv;
      const DeviceRegion rotated = project(qkv, l.bq, qkv_, 1, qkv.rows, 0);
      const DeviceRegion other = rotated.buffer == qkv_[0]->buffer && rotated.offset == qkv_[0]->offset ? *qkv_[1] : *qkv_[0];
      add(QINFER_OP_ROPE, 0, {rotated, io_->at(b4), weight(model_->rope_freqs())}, other, {hp.head_dim, hp.n_head + hp.n_head_kv, 1, hp.n_rot},
          rope_params());
      q = other;
      k = other.at(uint64_t(nq) * 4);
      v = rotated.at(uint64_t(nq + nkv) * 4);
    } else {
      q = project(l.wq, l.bq, q_, n, nq, hp.n_head);
      k = project(l.wk, l.bk, k_, n, nkv, hp.n_head_kv);
      v = project(l.wv, l.bv, v_, n, nkv, 0);
    }
    for (const Run &r : runs) {
      const DeviceRegion pos = io_->at(b4 + uint64_t(r.start) * 4), kslot = kv_slot(il, r.seq, 0), vslot = kv_slot(il, r.seq, 1);
      add(QINFER_OP_KV_STORE, opt_.kv_type, {k.at(uint64_t(r.start * nkv) * 4), pos}, kslot, {hp.head_dim, hp.n_head_kv, r.len, stride_});
      add(QINFER_OP_KV_STORE, opt_.kv_type, {v.at(uint64_t(r.start * nkv) * 4), pos}, vslot, {hp.head_dim, hp.n_head_kv, r.len, stride_});
      add(QINFER_OP_ATTENTION, opt_.kv_type, {q.at(uint64_t(r.start * nq) * 4), kslot, vslot, io_->at(2 * b4 + uint64_t(r.start) * 4)},
          attn_->at(uint64_t(r.start * nq) * 4), {hp.head_dim, hp.n_head, r.len, hp.n_head_kv}, {scale, float(stride_)});
    }
    add(QINFER_OP_MATMUL, l.wo.type, {weight(l.wo), *attn_}, *h_, {nq, d, n, 0});
    add(QINFER_OP_ADD_F32, 0, {*x_[cur], *h_}, *x_[1 - cur], {n * d, 0, 0, 0});
    cur = 1 - cur;
    add(QINFER_OP_RMS_NORM, 0, {*x_[cur], weight(l.ffn_norm)}, *h_, {d, n, 0, 0}, {hp.rms_eps});
    if (n == 1 && gate_up_together_[size_t(il)]) {
      add(QINFER_OP_MATMUL, l.w_gate.type, {weight(l.w_gate), *h_}, *gate_up_, {d, 2 * int64_t(hp.n_ff), 1, 0});
      add(QINFER_OP_SILU_MUL, 0, {*gate_up_, gate_up_->at(uint64_t(hp.n_ff) * 4)}, *act_, {hp.n_ff, 0, 0, 0});
    } else {
      add(QINFER_OP_MATMUL, l.w_gate.type, {weight(l.w_gate), *h_}, *gate_, {d, hp.n_ff, n, 0});
      add(QINFER_OP_MATMUL, l.w_up.type, {weight(l.w_up), *h_}, *up_, {d, hp.n_ff, n, 0});
      add(QINFER_OP_SILU_MUL, 0, {*gate_, *up_}, *act_, {n * hp.n_ff, 0, 0, 0});
    }
    add(QINFER_OP_MATMUL, l.w_down.type, {weight(l.w_down), *act_}, *h_, {hp.n_ff, d, n, 0});
    add(QINFER_OP_ADD_F32, 0, {*x_[cur], *h_}, *x_[1 - cur], {n * d, 0, 0, 0});
    cur = 1 - cur;
  }
  if (m == 0) return;
  // Only the rows that want logits go through the final norm and the vocabulary projection.
  add(QINFER_OP_GET_ROWS, QINFER_TYPE_F32, {*x_[cur], io_->at(3 * b4)}, *h_, {d, n, m, 0});
  add(QINFER_OP_RMS_NORM, 0, {*h_, weight(model_->output_norm())}, *x_[1 - cur], {d, m, 0, 0}, {hp.rms_eps});
  add(QINFER_OP_MATMUL, model_->output().type, {weight(model_->output()), *x_[1 - cur]}, *logits_, {d, hp.n_vocab, m, 0});
}

void DeviceForward::submit(const char *what) {
  check_backend(vt_, vt_->compute(device_, ops_.data(), int(ops_.size())), what);
}

bool DeviceForward::eval(const std::vector<BatchToken> &batch, float *logits, const std::atomic<bool> *abort) {
  const int64_t n = int64_t(batch.size()), b = opt_.n_batch;
  if (n == 0) return true;
  if (n > b) throw Error(QINFER_E_INTERNAL, "batch of " + std::to_string(n) + " tokens exceeds " + std::to_string(b));
  if (!loaded_) throw Error(QINFER_E_INTERNAL, "the weights are not on the device yet");
  if (abort && abort->load(std::memory_order_relaxed)) return false;
  std::vector<Run> runs;
  int64_t m = 0;
  for (int64_t t = 0; t < n; ++t) {
    const BatchToken &bt = batch[size_t(t)];
    io_host_[size_t(t)] = bt.token;
    io_host_[size_t(b + t)] = bt.pos;
    io_host_[size_t(2 * b + t)] = bt.pos + 1;
    if (bt.logits) io_host_[size_t(3 * b + m++)] = int32_t(t);
    if (runs.empty() || runs.back().seq != bt.seq) runs.push_back({bt.seq, t, 0});
    ++runs.back().len;
  }
  check_backend(vt_, vt_->buffer_write(io_->buffer, io_->offset, io_host_.data(), io_host_.size() * 4), "writing the batch");
  build(n, m, runs);
  submit("evaluating a batch");
  if (m > 0) {
    check_backend(vt_, vt_->buffer_read(logits_->buffer, logits_->offset, logits, uint64_t(m) * uint64_t(model_->hparams().n_vocab) * 4),
                  "reading the logits");
  } else {
    check_backend(vt_, vt_->synchronize(device_), "evaluating a batch");
  }
  return true;
}

void DeviceForward::copy_prefix(int32_t src_seq, int32_t dst_seq, int32_t n) {
  if (src_seq == dst_seq || n <= 0) return;
  const uint64_t head = kv_row_ * uint64_t(stride_);
  // Whole words: the bytes past position n that ride along are rewritten before anything reads them.
  const int64_t bytes = int64_t(std::min(head, (uint64_t(n) * kv_row_ + 3) / 4 * 4));
  ops_.clear();
  for (int32_t l = 0; l < model_->hparams().n_layer; ++l) {
    for (int kv = 0; kv < 2; ++kv) {
      add(QINFER_OP_COPY, 0, {kv_slot(l, src_seq, kv)}, kv_slot(l, dst_seq, kv), {bytes, model_->hparams().n_head_kv, int64_t(head), int64_t(head)});
    }
  }
  submit("copying a cached prefix");
  check_backend(vt_, vt_->synchronize(device_), "copying a cached prefix");
}

}  // namespace

std::shared_ptr<Forward> make_device_forward(std::shared_ptr<const LlamaModel> model, const qinfer_backend *backend, int device,
                                             const EngineOptions &opt) {
  return std::make_shared<DeviceForward>(std::move(model), backend, device, opt);
}

}  // namespace qinfer
