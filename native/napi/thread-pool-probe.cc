// threadPoolProbe: drives a ThreadPool from the tests (coverage of parallel_for, run's thread indexes, errors, reuse).
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/thread-pool.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

// threadPoolProbe({threads, jobs, n, grain, throwAt}) -> {hits: Int32Array(n), runIndexes: number[],
// osThreads, error?}. Each of `jobs` parallel_for calls adds 1 to hits[i] for i in [0, n); one run()
// job records the index of every call. With throwAt >= 0, a further parallel_for throws from the chunk
// holding that index (error: the message the caller caught), then `jobs` more jobs run on the same
// pool, so every hit count must end at 2 * jobs. osThreads counts the distinct OS threads that ever
// ran work: at most `threads` when the pool reuses its workers.
Napi::Value thread_pool_probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    auto num = [&](const char *k) { return o.Get(k).As<Napi::Number>().Int64Value(); };
    const int threads = int(num("threads"));
    const int64_t jobs = num("jobs"), n = num("n"), grain = num("grain"), throw_at = num("throwAt");
    if (threads < 1 || jobs < 0 || n < 0) throw Error(QINFER_E_INVALID_ARGUMENT, "threadPoolProbe: threads >= 1, jobs >= 0 and n >= 0");
    ThreadPool pool(threads);
    std::vector<std::atomic<int32_t>> hits(static_cast<size_t>(n));
    std::mutex m;
    std::set<std::thread::id> os_threads;
    auto note_thread = [&] {
      std::lock_guard<std::mutex> lock(m);
      os_threads.insert(std::this_thread::get_id());
    };
    auto job = [&] {
      pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
        note_thread();
        for (int64_t i = b; i < e; i++) hits[size_t(i)].fetch_add(1, std::memory_order_relaxed);
      });
    };
    for (int64_t j = 0; j < jobs; j++) job();
    std::vector<int> run_indexes;
    pool.run([&](int i, int nt) {
      note_thread();
      std::lock_guard<std::mutex> lock(m);
      run_indexes.push_back(nt == pool.size() ? i : -1);
    });
    Napi::Object out = Napi::Object::New(env);
    if (throw_at >= 0) {
      std::string caught;
      try {
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
          if (throw_at >= b && throw_at < e) throw Error(QINFER_E_INTERNAL, "chunk " + std::to_string(b) + " to " + std::to_string(e) + " failed");
        });
      } catch (const Error &e) {
        caught = e.what();
      }
      out.Set("error", caught);
      for (int64_t j = 0; j < jobs; j++) job();
    }
    Napi::Int32Array h = Napi::Int32Array::New(env, size_t(n));
    for (int64_t i = 0; i < n; i++) h[size_t(i)] = hits[size_t(i)].load();
    Napi::Array idx = Napi::Array::New(env, run_indexes.size());
    for (size_t i = 0; i < run_indexes.size(); i++) idx.Set(uint32_t(i), run_indexes[i]);
    out.Set("hits", h);
    out.Set("runIndexes", idx);
    out.Set("osThreads", Napi::Number::New(env, double(os_threads.size())));
    return out;
  });
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("threadPoolProbe", Napi::Function::New(env, thread_pool_probe)); }

}  // namespace

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace qinfer::napi
