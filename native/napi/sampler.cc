// NativeSampler ObjectWrap: the native sampler, for the generation loop's tests and for sampling logits from JS.
#include "core/sampling.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

float get_float(Napi::Object o, const char *key, float fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().FloatValue() : fallback;
}

int32_t get_int(Napi::Object o, const char *key, int32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

class Sampler : public Napi::ObjectWrap<Sampler> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeSampler",
                       {InstanceMethod("sample", &Sampler::sample), InstanceMethod("accept", &Sampler::accept),
                        InstanceMethod("reset", &Sampler::reset)});
  }

  // Options arrive validated by lib/sampling.ts.
  explicit Sampler(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Sampler>(info), sampler_(parse(info[0].As<Napi::Object>())) {}

 private:
  static SamplerParams parse(Napi::Object o) {
    SamplerParams p;
    p.temperature = get_float(o, "temperature", p.temperature);
    p.top_k = get_int(o, "topK", p.top_k);
    p.top_p = get_float(o, "topP", p.top_p);
    p.min_p = get_float(o, "minP", p.min_p);
    p.repeat_penalty = get_float(o, "repeatPenalty", p.repeat_penalty);
    p.frequency_penalty = get_float(o, "frequencyPenalty", p.frequency_penalty);
    p.presence_penalty = get_float(o, "presencePenalty", p.presence_penalty);
    p.penalty_last_n = get_int(o, "penaltyLastN", p.penalty_last_n);
    Napi::Value seed = o.Get("seed");
    if (seed.IsNumber()) p.seed = uint64_t(seed.As<Napi::Number>().Int64Value());
    return p;
  }

  Napi::Value sample(const Napi::CallbackInfo &info) {
    auto logits = info[0].As<Napi::Float32Array>();
    if (logits.ElementLength() == 0) throw make_error(info.Env(), QINFER_E_INVALID_ARGUMENT, "sample: logits are empty");
    return Napi::Number::New(info.Env(), sampler_.sample(logits.Data(), int32_t(logits.ElementLength())));
  }

  Napi::Value accept(const Napi::CallbackInfo &info) {
    sampler_.accept(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  Napi::Value reset(const Napi::CallbackInfo &info) {
    sampler_.reset();
    return info.Env().Undefined();
  }

  qinfer::Sampler sampler_;
};

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("NativeSampler", Sampler::define(env)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
