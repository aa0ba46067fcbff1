// What the engine asks of a model evaluator: batched forward passes over its own KV cache, on the host or on a device.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/llama-forward.h"
#include "core/llama-model.h"
#include "qinfer/backend.h"

namespace qinfer {

struct EngineOptions {
  int32_t threads = 0;
  int32_t n_ctx = 0;
  int32_t n_seq = 1;
  int32_t n_batch = 512;
  int32_t kv_type = 1;  // F16
};

// progress(done, total) between chunks of work; returning false stops it.
using LoadProgress = std::function<bool(uint64_t, uint64_t)>;

class Forward {
 public:
  virtual ~Forward() = default;
  // Makes the weights ready (pages them in, or uploads them); false when progress asked to stop.
  virtual bool load(const LoadProgress &progress) = 0;
  // LlamaForward::eval's contract: n_vocab logits per token that asks, in batch order; false if aborted.
  virtual bool eval(const std::vector<BatchToken> &batch, float *logits, const std::atomic<bool> *abort) = 0;
  // Copies positions [0, n) of every layer's cache from one sequence slot to another.
  virtual void copy_prefix(int32_t src_seq, int32_t dst_seq, int32_t n) = 0;
  virtual uint64_t kv_bytes() const = 0;
  virtual uint64_t kv_resident_bytes() const = 0;
  virtual uint64_t scratch_bytes() const = 0;
  // Bytes held in device memory (0 on the host).
  virtual uint64_t device_bytes() const = 0;
  virtual int32_t threads() const = 0;
};

// The CPU path: the model's memory-mapped weights, a host KV cache and the CPU operators.
std::shared_ptr<Forward> make_host_forward(std::shared_ptr<const LlamaModel> model, const EngineOptions &opt);

// A GPU backend module: weights uploaded once, cache and activations in device memory, one submission per step.
// Throws E_OUT_OF_MEMORY when the estimate exceeds the device's free memory (or QINFER_DEVICE_MEMORY_LIMIT bytes).
std::shared_ptr<Forward> make_device_forward(std::shared_ptr<const LlamaModel> model, const qinfer_backend *backend, int device,
                                             const EngineOptions &opt);

}  // namespace qinfer
