// NativeModel ObjectWrap: a loaded model and its engine; requests stream tokens and summaries back through thread-safe functions.
#include <atomic>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "core/backend-module.h"
#include "core/engine.h"
#include "errors.h"
#include "exports.h"
#include "model-spec.h"

namespace qinfer::napi {
namespace {

std::vector<TensorSpec> parse_tensors(Napi::Array a) {
  std::vector<TensorSpec> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Object t = a.Get(i).As<Napi::Object>();
    TensorSpec &s = out[i];
    s.name = t.Get("name").As<Napi::String>();
    s.type = t.Get("type").As<Napi::Number>().Int32Value();
    Napi::Array ne = t.Get("shape").As<Napi::Array>();
    for (uint32_t j = 0; j < ne.Length(); ++j) s.ne.push_back(ne.Get(j).As<Napi::Number>().Int64Value());
    s.offset = uint64_t(t.Get("offset").As<Napi::Number>().Int64Value());
    s.bytes = uint64_t(t.Get("bytes").As<Napi::Number>().Int64Value());
  }
  return out;
}

// Makes the weights ready off the JS thread (pages them in, or uploads them to the device), reporting progress
// and stopping on cancel(); holding the evaluator keeps the file mapped and the device buffers alive until it ends.
class PrefetchWorker : public Napi::AsyncProgressQueueWorker<uint64_t> {
 public:
  PrefetchWorker(Napi::Env env, std::shared_ptr<Forward> forward, Napi::Function progress, std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncProgressQueueWorker<uint64_t>(env), forward_(std::move(forward)), cancel_(std::move(cancel)), deferred_(Napi::Promise::Deferred::New(env)) {
    if (!progress.IsEmpty()) progress_ = Napi::Persistent(progress);
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress &p) override {
    try {
      completed_ = forward_->load([&](uint64_t done, uint64_t total) {
        uint64_t v[2] = {done, total};
        p.Send(v, 2);
        return !cancel_->load();
      });
    } catch (const Error &e) {
      status_ = e.status();
      message_ = e.what();
    }
  }
  void OnProgress(const uint64_t *v, size_t n) override {
    if (n == 2 && !progress_.IsEmpty()) progress_.Call({Napi::Number::New(Env(), double(v[0])), Napi::Number::New(Env(), double(v[1]))});
  }
  void OnOK() override {
    if (status_ != QINFER_OK) {
      deferred_.Reject(make_error(Env(), status_, message_).Value());
    } else if (completed_) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(make_error(Env(), QINFER_E_ABORTED, "loading was aborted").Value());
    }
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  std::shared_ptr<Forward> forward_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::FunctionReference progress_;
  Napi::Promise::Deferred deferred_;
  bool completed_ = false;
  qinfer_status status_ = QINFER_OK;
  std::string message_;
};

// What crosses from the engine thread to JS for one request.
struct Event {
  bool done = false;
  int32_t token = -1;
  RequestSummary summary;
};

Napi::Object summary_to_js(Napi::Env env, RequestSummary &s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("finishReason", s.finish_reason);
  o.Set("promptTokens", s.prompt_tokens);
  o.Set("reusedTokens", s.reused_tokens);
  o.Set("generatedTokens", s.generated_tokens);
  o.Set("promptSeconds", s.prompt_seconds);
  o.Set("generationSeconds", s.generation_seconds);
  if (!s.logits.empty()) {
    auto *v = new std::vector<float>(std::move(s.logits));
    auto buf = Napi::ArrayBuffer::New(env, v->data(), v->size() * sizeof(float), [](Napi::Env, void *, std::vector<float> *p) { delete p; }, v);
    o.Set("logits", Napi::Float32Array::New(env, v->size(), buf, 0));
  }
  return o;
}

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("prefetch", &Model::prefetch), InstanceMethod("cancelPrefetch", &Model::cancel_prefetch),
                        InstanceMethod("submit", &Model::submit), InstanceMethod("abort", &Model::abort),
                        InstanceMethod("hold", &Model::hold),
                        InstanceMethod("memory", &Model::memory), InstanceMethod("stats", &Model::stats),
                        InstanceMethod("close", &Model::close)});
  }

  // new NativeModel({path, hparams, tensors, threads, contextSize, sequences, batchSize, kvType, backend, modulePath})
  explicit Model(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Model>(info) {
    guarded(info.Env(), [&] {
      Napi::Object spec = info[0].As<Napi::Object>();
      std::string path = spec.Get("path").As<Napi::String>();
      model_ = std::make_shared<LlamaModel>(path, parse_hparams(spec.Get("hparams").As<Napi::Object>()),
                                            parse_tensors(spec.Get("tensors").As<Napi::Array>()));
      EngineOptions opt;
      opt.threads = int_field(spec, "threads");
      opt.n_ctx = int_field(spec, "contextSize");
      opt.n_seq = int_field(spec, "sequences");
      opt.n_batch = int_field(spec, "batchSize");
      opt.kv_type = int_field(spec, "kvType");
      std::string backend = spec.Get("backend").As<Napi::String>();
      std::shared_ptr<Forward> forward;
      if (backend == "cpu") {
        forward = make_host_forward(model_, opt);
      } else {
        BackendModule m = open_backend(backend, spec.Get("modulePath").As<Napi::String>());
        if (!m.available()) throw Error(QINFER_E_BACKEND_UNAVAILABLE, "backend " + backend + " is unavailable: " + m.reason);
        forward = make_device_forward(model_, m.vtable, 0, opt);
      }
      engine_ = std::make_unique<Engine>(model_, std::move(forward), opt);
    });
  }

 private:
  Engine &engine(Napi::Env env) {
    if (!engine_) throw make_error(env, QINFER_E_INVALID_ARGUMENT, "the model is closed");
    return *engine_;
  }

  Napi::Value prefetch(const Napi::CallbackInfo &info) {
    engine(info.Env());
    cancel_prefetch_->store(false);
    auto *w = new PrefetchWorker(info.Env(), engine_->forward(), info[0].IsFunction() ? info[0].As<Napi::Function>() : Napi::Function(), cancel_prefetch_);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  Napi::Value cancel_prefetch(const Napi::CallbackInfo &info) {
    cancel_prefetch_->store(true);
    return info.Env().Undefined();
  }

  // submit(kind: 'evaluate'|'generate', tokens: Int32Array, options, onEvent) -> request id
  Napi::Value submit(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &eng = engine(env);
    auto r = std::make_shared<Request>();
    std::string kind = info[0].As<Napi::String>();
    r->kind = kind == "generate" ? Request::Kind::kGenerate : Request::Kind::kEvaluate;
    Napi::Int32Array tokens = info[1].As<Napi::Int32Array>();
    r->prompt.assign(tokens.Data(), tokens.Data() + tokens.ElementLength());
    Napi::Object o = info[2].As<Napi::Object>();
    r->all_logits = o.Get("allLogits").ToBoolean();
    if (r->kind == Request::Kind::kGenerate) {
      Napi::Object s = o.Get("sampling").As<Napi::Object>();
      SamplerParams &p = r->sampling;
      p.temperature = float_field(s, "temperature");
      p.top_k = int_field(s, "topK");
      p.top_p = float_field(s, "topP");
      p.min_p = float_field(s, "minP");
      p.repeat_penalty = float_field(s, "repeatPenalty");
      p.frequency_penalty = float_field(s, "frequencyPenalty");
      p.presence_penalty = float_field(s, "presencePenalty");
      p.penalty_last_n = int_field(s, "penaltyLastN");
      p.seed = uint64_t(s.Get("seed").As<Napi::Number>().Int64Value());
      r->max_tokens = int_field(o, "maxTokens");
      Napi::Int32Array eog = o.Get("eog").As<Napi::Int32Array>();
      r->eog.assign(eog.Data(), eog.Data() + eog.ElementLength());
    }
    const uint64_t id = next_id_++;
    // The thread-safe function owns the one JS callback, onEvent(err, token, summary): no JS handle is
    // ever released on the engine's thread. Events may arrive after this wrapper is collected, so they
    // hold the request table rather than `this`.
    auto tsfn = std::make_shared<Napi::ThreadSafeFunction>(Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "qinfer-request", 0, 1));
    auto deliver = [requests = requests_, id](Napi::Env env, Napi::Function on_event, Event *ev) {
      std::unique_ptr<Event> e(ev);
      if (!e->done) {
        on_event.Call({env.Null(), Napi::Number::New(env, e->token), env.Undefined()});
        return;
      }
      requests->erase(id);
      Napi::Value err = env.Null();
      if (e->summary.status != QINFER_OK) err = make_error(env, e->summary.status, e->summary.message).Value();
      on_event.Call({err, Napi::Number::New(env, -1), summary_to_js(env, e->summary)});
    };
    r->on_token = [tsfn, deliver](int32_t token) {
      auto *e = new Event;
      e->token = token;
      tsfn->BlockingCall(e, deliver);
    };
    r->on_done = [tsfn, deliver](RequestSummary &&s) {
      auto *e = new Event;
      e->done = true;
      e->summary = std::move(s);
      tsfn->BlockingCall(e, deliver);
      tsfn->Release();
    };
    (*requests_)[id] = r;
    guarded(env, [&] { eng.submit(r); });
    return Napi::Number::New(env, double(id));
  }

  Napi::Value hold(const Napi::CallbackInfo &info) {
    engine(info.Env()).hold(info[0].ToBoolean());
    return info.Env().Undefined();
  }

  Napi::Value abort(const Napi::CallbackInfo &info) {
    auto it = requests_->find(uint64_t(info[0].As<Napi::Number>().Int64Value()));
    if (it != requests_->end() && engine_) engine_->abort(it->second);
    return info.Env().Undefined();
  }

  Napi::Value memory(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &eng = engine(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("fileBytes", double(model_->file_bytes()));
    o.Set("weightBytes", double(model_->weight_bytes()));
    o.Set("residentWeightBytes", double(model_->resident_weight_bytes()));
    o.Set("kvCacheBytes", double(eng.forward()->kv_bytes()));
    o.Set("residentKvCacheBytes", double(eng.forward()->kv_resident_bytes()));
    o.Set("scratchBytes", double(eng.scratch_bytes()));
    o.Set("deviceBytes", double(eng.forward()->device_bytes()));
    return o;
  }

  Napi::Value stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    EngineStats s = engine(env).stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("batches", double(s.batches));
    o.Set("tokens", double(s.tokens));
    o.Set("maxSequencesInBatch", s.max_sequences_in_batch);
    o.Set("threads", engine_->forward()->threads());
    return o;
  }

  // Ends every request (E_ABORTED) and unmaps the file once no prefetch holds it.
  Napi::Value close(const Napi::CallbackInfo &info) {
    cancel_prefetch_->store(true);
    engine_.reset();
    model_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<const LlamaModel> model_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<std::unordered_map<uint64_t, std::shared_ptr<Request>>> requests_ =
      std::make_shared<std::unordered_map<uint64_t, std::shared_ptr<Request>>>();
  uint64_t next_id_ = 1;
  std::shared_ptr<std::atomic<bool>> cancel_prefetch_ = std::make_shared<std::atomic<bool>>(false);
};

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("NativeModel", Model::define(env)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
