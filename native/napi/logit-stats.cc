// logitStats(): scores of evaluated logits off the JS thread (perplexity, KL divergence, top-1 agreement).
#include <vector>

#include "core/logit-stats.h"
#include "errors.h"
#include "exports.h"
#include "promise-worker.h"

namespace qinfer::napi {
namespace {

class LogitStatsWorker : public PromiseWorker<Napi::AsyncWorker> {
 public:
  LogitStatsWorker(Napi::Env env, Napi::Float32Array logits, Napi::Float32Array ref, Napi::Int32Array targets, int64_t n_vocab)
      : PromiseWorker(env, "qinfer-logit-stats"),
        logits_ref_(Napi::Persistent(logits)),
        targets_ref_(Napi::Persistent(targets)),
        logits_(logits.Data()),
        targets_(targets.Data()),
        rows_(int64_t(targets.ElementLength())),
        n_vocab_(n_vocab),
        nll_(size_t(rows_)) {
    if (!ref.IsEmpty()) {
      ref_ref_ = Napi::Persistent(ref);
      ref_ = ref.Data();
      kl_.resize(size_t(rows_));
      top1_.resize(size_t(rows_));
      ref_nll_.resize(size_t(rows_));
    }
  }

 protected:
  void Execute() override {
    run([&] { logit_stats(logits_, ref_, rows_, n_vocab_, targets_, nll_.data(), kl_.data(), top1_.data(), ref_nll_.data()); });
  }

  void OnOK() override {
    resolve_with([&] {
      Napi::Env env = Env();
      Napi::Object o = Napi::Object::New(env);
      auto f64 = [&](const std::vector<double> &v) {
        Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
        std::copy(v.begin(), v.end(), a.Data());
        return a;
      };
      o.Set("nll", f64(nll_));
      if (ref_) {
        o.Set("kl", f64(kl_));
        o.Set("refNll", f64(ref_nll_));
        Napi::Uint8Array t = Napi::Uint8Array::New(env, top1_.size());
        std::copy(top1_.begin(), top1_.end(), t.Data());
        o.Set("top1", t);
      }
      return o;
    });
  }

 private:
  Napi::Reference<Napi::Float32Array> logits_ref_, ref_ref_;
  Napi::Reference<Napi::Int32Array> targets_ref_;
  const float *logits_;
  const float *ref_ = nullptr;
  const int32_t *targets_;
  int64_t rows_, n_vocab_;
  std::vector<double> nll_, kl_, ref_nll_;
  std::vector<uint8_t> top1_;
};

// logitStats(logits, nVocab, targets, ref?) -> {promise, abort}: logits has targets.length rows.
Napi::Value logit_stats_js(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto logits = info[0].As<Napi::Float32Array>();
    int64_t n_vocab = info[1].As<Napi::Number>().Int64Value();
    auto targets = info[2].As<Napi::Int32Array>();
    Napi::Float32Array ref = info[3].IsTypedArray() ? info[3].As<Napi::Float32Array>() : Napi::Float32Array();
    const size_t want = targets.ElementLength() * size_t(n_vocab);
    if (n_vocab <= 0 || logits.ElementLength() < want || (!ref.IsEmpty() && ref.ElementLength() < want)) {
      throw Error(QINFER_E_INVALID_ARGUMENT, "logitStats: logits are shorter than targets x vocabulary");
    }
    for (size_t i = 0; i < targets.ElementLength(); ++i) {
      if (targets[i] < 0 || targets[i] >= n_vocab) throw Error(QINFER_E_INVALID_ARGUMENT, "logitStats: a target token is outside the vocabulary");
    }
    return (new LogitStatsWorker(env, logits, ref, targets, n_vocab))->start();
  });
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("logitStats", Napi::Function::New(env, logit_stats_js)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
