// cpuKernelBench: one kernel benchmark measurement in a worker thread (never on the event loop).
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/cpu/isa.h"
#include "backends/cpu/kernel-bench.h"
#include "backends/cpu/kernels.h"
#include "core/thread-pool.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

// Pools by thread count, kept for the process: benchmarks run one after another on the same threads.
ThreadPool &pool_of(int threads) {
  static std::mutex m;
  static std::map<int, std::unique_ptr<ThreadPool>> pools;
  std::lock_guard<std::mutex> lock(m);
  auto &p = pools[threads];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return *p;
}

struct Request {
  std::string kind;  // "bandwidth" or "matmul"
  int threads = 0;
  double bytes = 0;
  int reps = 5;
  cpu::Isa isa = cpu::Isa::GENERIC;
  int32_t type = 0;
  int64_t rows = 0, cols = 0, batch = 1;
  double min_seconds = 0.5;
  bool resident = false;
};

class BenchWorker : public Napi::AsyncWorker {
 public:
  BenchWorker(Napi::Env env, Request req) : Napi::AsyncWorker(env), req_(std::move(req)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      ThreadPool &pool = pool_of(req_.threads);
      if (req_.kind == "bandwidth") {
        bandwidth_ = cpu::measure_read_bandwidth(pool, uint64_t(req_.bytes), req_.reps);
      } else {
        timing_ = cpu::bench_matmul(cpu::kernels_for(req_.isa), pool, req_.type, req_.rows, req_.cols, req_.batch, req_.min_seconds,
                                       req_.resident);
      }
    } catch (const Error &e) {
      status_ = e.status();
      SetError(e.what());
    } catch (const std::bad_alloc &) {
      status_ = QINFER_E_OUT_OF_MEMORY;
      SetError("benchmark: out of host memory");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    if (req_.kind == "bandwidth") {
      o.Set("bytesPerSecond", bandwidth_);
    } else {
      o.Set("bestSeconds", timing_.best_seconds);
      o.Set("medianSeconds", timing_.median_seconds);
      o.Set("repetitions", timing_.repetitions);
      o.Set("bytes", double(timing_.bytes));
    }
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(make_error(Env(), status_, e.Message()).Value()); }

 private:
  Request req_;
  Napi::Promise::Deferred deferred_;
  qinfer_status status_ = QINFER_E_INTERNAL;
  double bandwidth_ = 0;
  cpu::BenchTiming timing_;
};

// cpuKernelBench({kind, threads, ...}) -> Promise; options arrive validated by lib/cli/commands/bench-kernels.ts.
Napi::Value cpu_kernel_bench(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    Request r;
    r.kind = o.Get("kind").As<Napi::String>();
    r.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (r.kind == "bandwidth") {
      r.bytes = o.Get("bytes").As<Napi::Number>().DoubleValue();
      r.reps = o.Get("reps").As<Napi::Number>().Int32Value();
    } else if (r.kind == "matmul") {
      r.isa = cpu::isa_from_name(o.Get("isa").As<Napi::String>(), "isa");
      r.type = o.Get("type").As<Napi::Number>().Int32Value();
      r.rows = o.Get("rows").As<Napi::Number>().Int64Value();
      r.cols = o.Get("cols").As<Napi::Number>().Int64Value();
      r.batch = o.Get("batch").As<Napi::Number>().Int64Value();
      r.min_seconds = o.Get("minSeconds").As<Napi::Number>().DoubleValue();
      r.resident = o.Get("resident").ToBoolean();
    } else {
      throw Error(QINFER_E_INVALID_ARGUMENT, "Expected bandwidth or matmul for option kind but received " + r.kind);
    }
    auto *w = new BenchWorker(env, std::move(r));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuKernelBench", Napi::Function::New(env, cpu_kernel_bench));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
