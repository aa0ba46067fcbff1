// AsyncWorker plumbing for file jobs: a promise instead of a callback, an abort flag JS can raise,
// and core errors (qinfer::Error) rejected as the matching JS error class.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <new>
#include <string>

#include "core/error.h"
#include "errors.h"

namespace qinfer::napi {

template <typename Base>
class PromiseWorker : public Base {
 public:
  explicit PromiseWorker(Napi::Env env, const char *name)
      : Base(env, name), deferred_(Napi::Promise::Deferred::New(env)), abort_(std::make_shared<std::atomic<bool>>(false)) {}

  // Queues the worker and returns {promise, abort()} to JS (the worker deletes itself when done).
  Napi::Object start() {
    Napi::Env env = Base::Env();
    Napi::Object task = Napi::Object::New(env);
    task.Set("promise", deferred_.Promise());
    auto abort = abort_;
    task.Set("abort", Napi::Function::New(env, [abort](const Napi::CallbackInfo &info) {
               abort->store(true);
               return info.Env().Undefined();
             }));
    Base::Queue();
    return task;
  }

 protected:
  // Runs fn on the worker thread; a thrown error becomes the promise's rejection.
  template <typename Fn>
  void run(Fn &&fn) {
    try {
      fn();
    } catch (const ::qinfer::Error &e) {
      status_ = e.status();
      Base::SetError(e.what());
    } catch (const std::bad_alloc &) {
      status_ = QINFER_E_OUT_OF_MEMORY;
      Base::SetError("out of host memory");
    } catch (const std::exception &e) {
      status_ = QINFER_E_INTERNAL;
      Base::SetError(e.what());
    }
  }

  // Resolves with the value fn builds on the JS thread (a conversion failure rejects instead).
  template <typename Fn>
  void resolve_with(Fn &&fn) {
    Napi::Env env = Base::Env();
    try {
      deferred_.Resolve(guarded(env, fn));
    } catch (const Napi::Error &e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error &e) override {
    deferred_.Reject(make_error(Base::Env(), status_, e.Message()).Value());
  }

  void reject(Napi::Value error) { deferred_.Reject(error); }
  void request_abort() { abort_->store(true); }

  const std::atomic<bool> *abort_flag() const { return abort_.get(); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<std::atomic<bool>> abort_;
  qinfer_status status_ = QINFER_E_INTERNAL;
};

}  // namespace qinfer::napi
