// The host evaluator: LlamaForward over the CPU operators and a host KV cache, with the weights paged in from the file.
#include <memory>

#include "core/cpu-model-ops.h"
#include "core/forward.h"
#include "core/kv-cache.h"

namespace qinfer {
namespace {

class HostForward : public Forward {
 public:
  HostForward(std::shared_ptr<const LlamaModel> model, const EngineOptions &opt)
      : model_(std::move(model)),
        ops_(make_cpu_model_ops(opt.threads)),
        cache_(model_->hparams(), opt.n_ctx, opt.n_seq, opt.kv_type),
        forward_(*model_, *ops_, cache_, opt.n_batch) {}

  bool load(const LoadProgress &progress) override { return model_->prefetch(progress); }
  bool eval(const std::vector<BatchToken> &batch, float *logits, const std::atomic<bool> *abort) override {
    return forward_.eval(batch, logits, abort);
  }
  void copy_prefix(int32_t src_seq, int32_t dst_seq, int32_t n) override { cache_.copy_prefix(src_seq, dst_seq, n); }
  uint64_t kv_bytes() const override { return cache_.bytes(); }
  uint64_t kv_resident_bytes() const override { return cache_.resident_bytes(); }
  uint64_t scratch_bytes() const override { return forward_.scratch_bytes(); }
  uint64_t device_bytes() const override { return 0; }
  int32_t threads() const override { return ops_->threads(); }

 private:
  std::shared_ptr<const LlamaModel> model_;
  std::unique_ptr<ModelOps> ops_;
  KvCache cache_;
  LlamaForward forward_;
};

}  // namespace

std::shared_ptr<Forward> make_host_forward(std::shared_ptr<const LlamaModel> model, const EngineOptions &opt) {
  return std::make_shared<HostForward>(std::move(model), opt);
}

}  // namespace qinfer
