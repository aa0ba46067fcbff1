// quantizeModel(job, onProgress?) -> {promise, abort}: the model quantizer on a worker thread, progress throttled
// to the JS thread as (stage, done, total).
#include <chrono>

#include "exports.h"
#include "model-spec.h"
#include "promise-worker.h"
#include "quant/quantize-model.h"

namespace qinfer::napi {
namespace {

using quant::QuantizeJob;
using quant::QuantizeProgress;

[[noreturn]] void bad(const std::string &message) { throw Error(QINFER_E_INVALID_ARGUMENT, message); }

std::string string_field(Napi::Object o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) bad(std::string("quantize job: ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool bool_field(Napi::Object o, const char *key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

std::vector<int32_t> int32_array(Napi::Value v, const char *what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    bad(std::string("quantize job: ") + what + " must be an Int32Array");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

// Metadata set on the output: [{key, type: 'u32' | 'string', value}].
std::vector<GgufKv> parse_metadata(Napi::Value v) {
  std::vector<GgufKv> out;
  if (!v.IsArray()) bad("quantize job: metadata must be an array");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Object o = a.Get(k).As<Napi::Object>();
    GgufKv kv;
    kv.key = string_field(o, "key");
    const std::string type = string_field(o, "type");
    if (type == "u32") {
      kv.value.type = GgufType::U32;
      kv.value.u = uint64_t(o.Get("value").As<Napi::Number>().Uint32Value());
    } else if (type == "string") {
      kv.value.type = GgufType::STRING;
      kv.value.str = string_field(o, "value");
    } else {
      bad("quantize job: metadata types are u32 or string");
    }
    out.push_back(std::move(kv));
  }
  return out;
}

QuantizeJob parse_job(Napi::Object o) {
  QuantizeJob job;
  job.input = string_field(o, "input");
  job.output = string_field(o, "output");
  job.types = int32_array(o.Get("types"), "types");
  job.metadata = parse_metadata(o.Get("metadata"));
  Napi::Object m = o.Get("method").As<Napi::Object>();
  job.method.imatrix = bool_field(m, "imatrix");
  job.method.gptq = bool_field(m, "gptq");
  job.method.awq = bool_field(m, "awq");
  job.method.gptq_options.act_order = bool_field(m, "actOrder");
  job.method.gptq_options.damp = m.Get("damp").IsNumber() ? m.Get("damp").As<Napi::Number>().DoubleValue() : 0.01;
  job.method.awq_grid = m.Get("awqGrid").IsNumber() ? int_field(m, "awqGrid") : 20;
  job.method.w8a8_static = bool_field(m, "w8a8Static");
  if (job.method.w8a8_static) {
    job.method.act_calibration.calibrator = quant::parse_act_calibrator(string_field(m, "actCalibrator"));
    job.method.act_calibration.percentile = m.Get("actPercentile").As<Napi::Number>().DoubleValue();
    job.method.smooth = m.Get("smoothAlpha").IsNumber();
    if (job.method.smooth) job.method.smooth_alpha = m.Get("smoothAlpha").As<Napi::Number>().FloatValue();
    const double pct = job.method.act_calibration.percentile;
    if (!(pct > 0 && pct <= 100)) bad("quantize job: actPercentile must be in (0, 100]");
    if (job.method.smooth && !(job.method.smooth_alpha >= 0 && job.method.smooth_alpha <= 1)) bad("quantize job: smoothAlpha must be in [0, 1]");
  }
  job.threads = o.Get("threads").IsNumber() ? int_field(o, "threads") : 0;
  if (job.method.needs_calibration()) {
    job.calibration = int32_array(o.Get("calibration"), "calibration");
    job.calibration_options.context = int_field(o, "context");
    job.calibration_options.samples = o.Get("samples").IsNumber() ? int_field(o, "samples") : 0;
    job.hparams = parse_hparams(o.Get("hparams").As<Napi::Object>());
  }
  return job;
}

class QuantizeModelWorker : public PromiseWorker<Napi::AsyncProgressWorker<QuantizeProgress>> {
 public:
  QuantizeModelWorker(Napi::Env env, QuantizeJob job, Napi::Value on_progress)
      : PromiseWorker(env, "qinfer:quantizeModel"), job_(std::move(job)) {
    if (on_progress.IsFunction()) progress_ = Napi::Persistent(on_progress.As<Napi::Function>());
  }

  void Execute(const ExecutionProgress &progress) override {
    run([&] {
      auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
      report_ = quant::quantize_model(job_, abort_flag(), [&](const QuantizeProgress &p) {
        auto now = std::chrono::steady_clock::now();
        if (p.done < p.total && now - last < std::chrono::milliseconds(50)) return;
        last = now;
        progress.Send(&p, 1);
      });
    });
  }

  void OnProgress(const QuantizeProgress *p, size_t count) override {
    if (progress_.IsEmpty() || !count) return;
    Napi::Env env = Env();
    static const char *const kStages[] = {"calibrate", "awq", "write"};
    try {
      progress_.Call({Napi::String::New(env, kStages[int(p->stage)]), Napi::Number::New(env, double(p->done)),
                      Napi::Number::New(env, double(p->total))});
    } catch (const Napi::Error &) {
      request_abort();  // a throwing progress callback stops the job; the abort error reports it
    }
  }

  void OnOK() override {
    resolve_with([&]() -> Napi::Value {
      Napi::Env env = Env();
      Napi::Object o = Napi::Object::New(env);
      o.Set("bytes", double(report_.bytes));
      o.Set("calibrationTokens", double(report_.calibration_tokens));
      Napi::Float32Array alphas = Napi::Float32Array::New(env, report_.awq_alphas.size());
      std::copy(report_.awq_alphas.begin(), report_.awq_alphas.end(), alphas.Data());
      o.Set("awqAlphas", alphas);
      return o;
    });
  }

 private:
  QuantizeJob job_;
  quant::QuantizeReport report_;
  Napi::FunctionReference progress_;
};

Napi::Value quantize_model(const Napi::CallbackInfo &info) {
  return guarded(info.Env(), [&] {
    if (!info[0].IsObject()) bad("Expected an object for argument job");
    return (new QuantizeModelWorker(info.Env(), parse_job(info[0].As<Napi::Object>()), info[1]))->start();
  });
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("quantizeModel", Napi::Function::New(env, quantize_model)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
