// The inference engine of one loaded model: a worker thread that evaluates every active request
// (evaluations and generations, each in its own cache slot) together in shared batches.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/forward.h"
#include "core/llama-model.h"
#include "core/sampling.h"
#include "qinfer/status.h"

namespace qinfer {

struct RequestSummary {
  qinfer_status status = QINFER_OK;
  std::string message;
  std::string finish_reason;  // "eog", "length", "context", "aborted" (generation)
  int32_t prompt_tokens = 0;
  int32_t reused_tokens = 0;  // prompt tokens found in the cache and not evaluated again
  int32_t generated_tokens = 0;
  double prompt_seconds = 0;
  double generation_seconds = 0;
  std::vector<float> logits;  // evaluation: rows of n_vocab
};

struct Request {
  enum class Kind { kEvaluate, kGenerate };
  Kind kind = Kind::kEvaluate;
  std::vector<int32_t> prompt;
  bool all_logits = false;  // evaluation: every position's logits, else the last one's
  SamplerParams sampling;
  int32_t max_tokens = 0;
  std::vector<int32_t> eog;
  std::atomic<bool> abort{false};
  // Called on the engine's thread: each generated token, then exactly one summary.
  std::function<void(int32_t)> on_token;
  std::function<void(RequestSummary &&)> on_done;

  // Worker state.
  int32_t slot = -1;
  size_t fed = 0;               // prompt tokens already in the cache
  int32_t pending_token = -1;   // sampled, not yet evaluated
  std::unique_ptr<Sampler> sampler;
  RequestSummary summary;
  std::chrono::steady_clock::time_point t_start, t_prompt;
};

struct EngineStats {
  uint64_t batches = 0;
  uint64_t tokens = 0;
  int32_t max_sequences_in_batch = 0;
};

class Engine {
 public:
  Engine(std::shared_ptr<const LlamaModel> model, std::shared_ptr<Forward> forward, const EngineOptions &opt);
  ~Engine();

  const EngineOptions &options() const { return opt_; }
  void submit(std::shared_ptr<Request> r);
  // While held, queued requests wait: requests submitted together then start in the same batch.
  void hold(bool on);
  // Stops the request at the next step (its summary reports E_ABORTED).
  void abort(const std::shared_ptr<Request> &r);
  EngineStats stats() const;
  const std::shared_ptr<Forward> &forward() const { return forward_; }
  uint64_t scratch_bytes() const { return forward_->scratch_bytes() + uint64_t(logits_.size()) * 4; }

 private:
  struct Slot {
    std::vector<int32_t> tokens;  // what the cache holds, position by position
    bool busy = false;
  };

  void loop();
  void assign_slots();
  void step();
  // Takes the request by value: callers may pass an element of active_, which this erases.
  void finish(std::shared_ptr<Request> r, qinfer_status status, const std::string &message);
  void after_logits(const std::shared_ptr<Request> &r, const float *row);

  std::shared_ptr<const LlamaModel> model_;
  std::shared_ptr<Forward> forward_;
  EngineOptions opt_;
  std::vector<float> logits_;
  std::vector<Slot> slots_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Request>> queue_;   // waiting for a slot
  std::vector<std::shared_ptr<Request>> active_;  // worker-owned
  std::atomic<bool> interrupt_{false};
  bool stop_ = false;
  bool held_ = false;
  EngineStats stats_;
  std::thread worker_;
};

}  // namespace qinfer
