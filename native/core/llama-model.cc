// Loads a Llama-family model: maps the file once and binds every weight to its bytes, checking names, shapes and bounds.
#include "core/llama-model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "qinfer/ggml-types.h"

namespace qinfer {

namespace {

// Bytes of [offset, offset + bytes) of the mapping currently in RAM.
uint64_t resident(const MappedFile &f, uint64_t offset, uint64_t bytes) {
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  uint64_t begin = offset / page * page, end = std::min(f.size(), offset + bytes);
  if (end <= begin) return 0;
  std::vector<unsigned char> vec((end - begin + page - 1) / page);
  if (::mincore(const_cast<uint8_t *>(f.data()) + begin, end - begin, vec.data()) != 0) return 0;
  uint64_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return std::min(n * page, end - begin);
}

std::string shape_str(const std::vector<int64_t> &ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

Weight LlamaModel::bind(const std::vector<TensorSpec> &tensors, const std::string &name, int64_t cols, int64_t rows,
                        bool required) {
  auto it = std::find_if(tensors.begin(), tensors.end(), [&](const TensorSpec &t) { return t.name == name; });
  if (it == tensors.end()) {
    if (required) throw Error(QINFER_E_BAD_FILE, "the model has no tensor " + name);
    return {};
  }
  const TensorSpec &t = *it;
  int64_t t_cols = t.ne.empty() ? 0 : t.ne[0];
  int64_t t_rows = 1;
  for (size_t i = 1; i < t.ne.size(); ++i) t_rows *= t.ne[i];
  if (t_cols != cols || t_rows != rows) {
    throw Error(QINFER_E_BAD_FILE, "tensor " + name + " has shape " + shape_str(t.ne) + " but the hyperparameters need [" +
                                       std::to_string(cols) + (rows > 1 ? ", " + std::to_string(rows) : "") + "]");
  }
  const qinfer_type_traits *tr = qinfer_type_traits_of(t.type);
  if (!tr || tr->block_size <= 0) throw Error(QINFER_E_UNSUPPORTED, "tensor " + name + " has unknown type id " + std::to_string(t.type));
  if (cols % tr->block_size != 0) {
    throw Error(QINFER_E_BAD_FILE, "tensor " + name + ": row length " + std::to_string(cols) + " is not a multiple of the " +
                                       tr->name + " block size " + std::to_string(tr->block_size));
  }
  Weight w;
  w.type = t.type;
  w.cols = cols;
  w.rows = rows;
  w.row_bytes = size_t(cols / tr->block_size) * size_t(tr->type_size);
  uint64_t bytes = uint64_t(rows) * w.row_bytes;
  if (t.offset > file_.size() || bytes > file_.size() - t.offset) {
    throw Error(QINFER_E_BAD_FILE, "tensor " + name + " lies outside the file");
  }
  w.data = file_.data() + t.offset;
  weight_bytes_ += bytes;
  weight_begin_ = weight_begin_ == weight_end_ ? t.offset : std::min(weight_begin_, t.offset);
  weight_end_ = std::max(weight_end_, t.offset + bytes);
  if (w.type == QINFER_TYPE_W8A8) {
    const Weight s = bind(tensors, name + ".scale", rows, 1, true);
    if (s.type != QINFER_TYPE_F32) throw Error(QINFER_E_BAD_FILE, "tensor " + name + ".scale must be F32");
    w.scale = s.f32();
    if (const Weight a = bind(tensors, name + ".act_scale", 1, 1, false)) {
      if (a.type != QINFER_TYPE_F32) throw Error(QINFER_E_BAD_FILE, "tensor " + name + ".act_scale must be F32");
      w.act_scale = a.f32()[0];
      if (!std::isfinite(w.act_scale) || w.act_scale <= 0)
        throw Error(QINFER_E_BAD_FILE, "tensor " + name + ".act_scale holds " + std::to_string(w.act_scale) + ", not a positive scale");
    }
  }
  return w;
}

LlamaModel::LlamaModel(const std::string &path, const LlamaHparams &hp, const std::vector<TensorSpec> &tensors)
    : file_(path), hp_(hp) {
  const int64_t n_embd = hp.n_embd, n_q = int64_t(hp.n_head) * hp.head_dim, n_kv = int64_t(hp.n_head_kv) * hp.head_dim;
  tok_embd_ = bind(tensors, "token_embd.weight", n_embd, hp.n_vocab, true);
  output_norm_ = bind(tensors, "output_norm.weight", n_embd, 1, true);
  output_ = bind(tensors, "output.weight", n_embd, hp.n_vocab, false);
  if (!output_) output_ = tok_embd_;
  rope_freqs_ = bind(tensors, "rope_freqs.weight", hp.n_rot / 2, 1, false);
  layers_.resize(size_t(hp.n_layer));
  for (int32_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LlamaLayer &l = layers_[size_t(i)];
    l.attn_norm = bind(tensors, p + "attn_norm.weight", n_embd, 1, true);
    l.wq = bind(tensors, p + "attn_q.weight", n_embd, n_q, true);
    l.wk = bind(tensors, p + "attn_k.weight", n_embd, n_kv, true);
    l.wv = bind(tensors, p + "attn_v.weight", n_embd, n_kv, true);
    l.bq = bind(tensors, p + "attn_q.bias", n_q, 1, false);
    l.bk = bind(tensors, p + "attn_k.bias", n_kv, 1, false);
    l.bv = bind(tensors, p + "attn_v.bias", n_kv, 1, false);
    l.wo = bind(tensors, p + "attn_output.weight", n_q, n_embd, true);
    l.ffn_norm = bind(tensors, p + "ffn_norm.weight", n_embd, 1, true);
    l.w_gate = bind(tensors, p + "ffn_gate.weight", n_embd, hp.n_ff, true);
    l.w_up = bind(tensors, p + "ffn_up.weight", n_embd, hp.n_ff, true);
    l.w_down = bind(tensors, p + "ffn_down.weight", hp.n_ff, n_embd, true);
    for (const Weight *v : {&l.attn_norm, &l.ffn_norm, &l.bq, &l.bk, &l.bv}) {
      if (*v && v->type != QINFER_TYPE_F32) throw Error(QINFER_E_UNSUPPORTED, "norm and bias tensors of layer " + std::to_string(i) + " must be F32");
    }
  }
  if (output_norm_.type != QINFER_TYPE_F32 || (rope_freqs_ && rope_freqs_.type != QINFER_TYPE_F32)) {
    throw Error(QINFER_E_UNSUPPORTED, "output_norm.weight and rope_freqs.weight must be F32");
  }
}

uint64_t LlamaModel::resident_weight_bytes() const { return resident(file_, weight_begin_, weight_end_ - weight_begin_); }

bool LlamaModel::prefetch(const std::function<bool(uint64_t, uint64_t)> &progress) const {
  const uint64_t total = weight_end_ - weight_begin_, chunk = uint64_t(64) << 20;
  const uint8_t *p = file_.data() + weight_begin_;
  ::madvise(const_cast<uint8_t *>(file_.data()), file_.size(), MADV_WILLNEED);
  volatile uint8_t sink = 0;
  for (uint64_t done = 0; done < total;) {
    uint64_t end = std::min(total, done + chunk);
    for (uint64_t i = done; i < end; i += 4096) sink = sink + p[i];
    done = end;
    if (!progress(done, total)) return false;
  }
  return true;
}

void LlamaModel::release_pages() const {
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE)), begin = weight_begin_ / page * page;
  if (weight_end_ > begin) ::madvise(const_cast<uint8_t *>(file_.data()) + begin, weight_end_ - begin, MADV_DONTNEED);
}

namespace {
// The pair index d at which a pair turns `rotations` times over n_ctx_orig positions: pair d turns
// n_ctx_orig / (2 pi base^(2d/n_rot)) times (the YaRN paper's r(d)), solved for d.
float yarn_corr_dim(int32_t n_rot, int32_t n_ctx_orig, float rotations, float base) {
  return float(n_rot) * std::log(float(n_ctx_orig) / (rotations * 2.0f * float(M_PI))) / (2.0f * std::log(base));
}
}  // namespace

void yarn_corr_dims(int32_t n_rot, int32_t n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]) {
  dims[0] = std::max(0.0f, std::floor(yarn_corr_dim(n_rot, n_ctx_orig, beta_fast, freq_base)));
  dims[1] = std::min(float(n_rot - 1), std::ceil(yarn_corr_dim(n_rot, n_ctx_orig, beta_slow, freq_base)));
}

}  // namespace qinfer
