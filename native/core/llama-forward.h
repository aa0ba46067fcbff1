// The Llama decoder forward pass over a batch of tokens from any number of sequences, each with its own cache slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/kv-cache.h"
#include "core/llama-model.h"
#include "core/llama-ops.h"

namespace qinfer {

struct BatchToken {
  int32_t token = 0;
  int32_t pos = 0;   // position inside its sequence; the cache holds positions [0, pos) already
  int32_t seq = 0;   // cache slot
  bool logits = false;
};

// The inputs of the linear layers, as a calibration observer sees them: attn_q/k/v read kAttnIn,
// attn_output kAttnOut, ffn_gate/up kFfnIn, ffn_down kFfnDownIn, the vocabulary projection kOutputIn.
enum class LinearInput : int32_t { kAttnIn = 0, kAttnOut = 1, kFfnIn = 2, kFfnDownIn = 3, kOutputIn = 4 };
constexpr int kLinearInputCount = 5;

// Called with n rows of cols activations just before the matmuls that read them (layer -1 for kOutputIn).
using LinearObserver = std::function<void(int32_t layer, LinearInput which, const float *x, int64_t n, int64_t cols)>;

class LlamaForward {
 public:
  LlamaForward(const LlamaModel &model, ModelOps &ops, KvCache &cache, int32_t max_batch);

  int32_t max_batch() const { return max_batch_; }
  // Evaluates up to max_batch tokens and writes n_vocab logits for each token that asks for
  // them, in batch order. Returns false (cache contents undefined for this batch) if aborted.
  bool eval(const std::vector<BatchToken> &batch, float *logits, const std::atomic<bool> *abort);
  uint64_t scratch_bytes() const;
  // Quantizers' calibration: the observer sees every linear layer's input, including the final norm's output
  // for every token (not only those asking for logits).
  void set_observer(LinearObserver observer) { observer_ = std::move(observer); }

 private:
  const LlamaModel &model_;
  ModelOps &ops_;
  KvCache &cache_;
  int32_t max_batch_;
  RopeParams rope_;
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_;
  std::vector<int32_t> ids_, pos_;
  std::vector<void *> k_dst_, v_dst_;
  std::vector<AttentionRow> rows_;
  LinearObserver observer_;
};

}  // namespace qinfer
