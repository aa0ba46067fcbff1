// A Llama-family model's hyperparameters and weights, viewed in place inside the memory-mapped model file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/mapped-file.h"

namespace qinfer {

enum class RopeLayout : int32_t { kNormal = 0, kNeox = 2 };

struct LlamaHparams {
  int32_t n_vocab = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t n_ff = 0;
  int32_t head_dim = 0;  // key/value length per head
  int32_t n_rot = 0;     // leading dimensions of a head that RoPE rotates
  int32_t n_ctx_train = 0;
  RopeLayout rope_layout = RopeLayout::kNormal;
  float rope_theta = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear scaling: positions are multiplied by this (YaRN: 1 / factor)
  // YaRN (rope.scaling.type "yarn"): the share of the trained (unscaled) angle that pairs turning more than
  // beta_fast times over the original context keep, ramping down to none at beta_slow turns; 0 turns YaRN off.
  float rope_ext_factor = 0.0f;
  float rope_attn_factor = 1.0f;  // cos and sin are multiplied by this (YaRN's 0.1 ln(factor) + 1, times rope.scaling.attn_factor)
  float rope_yarn_beta_fast = 32.0f;
  float rope_yarn_beta_slow = 1.0f;
  int32_t rope_yarn_orig_ctx = 0;  // the context length the model was trained on before scaling
  float rms_eps = 1e-5f;
};

// YaRN's correction range, as pair indices [low, high] of the n_rot / 2 rotated pairs: pairs below low keep
// their trained frequency (they turn more than beta_fast times over the original context), pairs above high
// are interpolated (fewer than beta_slow turns), and those between are blended linearly. Computed in float
// as ggml does, so the rounding to whole pairs matches llama.cpp's.
void yarn_corr_dims(int32_t n_rot, int32_t n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]);

// A 2-D (or 1-D: rows = 1) tensor in ggml order: `cols` elements per row, rows contiguous.
struct Weight {
  const uint8_t *data = nullptr;
  int32_t type = -1;
  int64_t cols = 0;
  int64_t rows = 0;
  size_t row_bytes = 0;
  const float *scale = nullptr;  // W8A8: one scale per row, from the companion tensor "<name>.scale"
  float act_scale = 0;           // W8A8 static: the input's int8 scale from "<name>.act_scale" (0: per token)
  explicit operator bool() const { return data != nullptr; }
  const float *f32() const { return reinterpret_cast<const float *>(data); }
};

struct LlamaLayer {
  Weight attn_norm, wq, wk, wv, wo, bq, bk, bv;
  Weight ffn_norm, w_gate, w_up, w_down;
};

// One tensor as the file describes it; `offset` counts from the start of the file.
struct TensorSpec {
  std::string name;
  int32_t type = 0;
  std::vector<int64_t> ne;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

class LlamaModel {
 public:
  LlamaModel(const std::string &path, const LlamaHparams &hp, const std::vector<TensorSpec> &tensors);

  const LlamaHparams &hparams() const { return hp_; }
  const Weight &tok_embd() const { return tok_embd_; }
  const Weight &output_norm() const { return output_norm_; }
  const Weight &output() const { return output_; }  // the token embedding when tied
  const Weight &rope_freqs() const { return rope_freqs_; }
  const std::vector<LlamaLayer> &layers() const { return layers_; }

  uint64_t weight_bytes() const { return weight_bytes_; }
  uint64_t resident_weight_bytes() const;
  uint64_t file_bytes() const { return file_.size(); }
  // Touches every page of the weights so the first tokens do not pay for page faults;
  // calls progress(done, total) between chunks and stops early when it returns false.
  bool prefetch(const std::function<bool(uint64_t, uint64_t)> &progress) const;
  // Drops the weights' pages from this process (a device holds its own copy); they page back in if read.
  void release_pages() const;

 private:
  Weight bind(const std::vector<TensorSpec> &tensors, const std::string &name, int64_t cols, int64_t rows, bool required);

  MappedFile file_;
  LlamaHparams hp_;
  Weight tok_embd_, output_norm_, output_, rope_freqs_;
  std::vector<LlamaLayer> layers_;
  uint64_t weight_bytes_ = 0;
  uint64_t weight_begin_ = 0, weight_end_ = 0;
};

}  // namespace qinfer
