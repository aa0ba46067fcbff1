// Persistent worker threads: spin briefly for the next job (ops come back to back in a forward pass), then sleep.
#include "thread-pool.h"

#include <chrono>
#include <cstdlib>

#include "cpu-info.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QINFER_PAUSE() _mm_pause()
#else
#define QINFER_PAUSE() std::this_thread::yield()
#endif

namespace qinfer {
namespace {

// How long an idle worker polls before sleeping: long enough to cover the gap between two ops of
// one token, short enough not to steal a shared core for long.
constexpr auto kSpin = std::chrono::microseconds(300);

}  // namespace

int default_thread_count() {
  if (const char *env = std::getenv("QINFER_THREADS")) {
    char *end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && n > 0 && n <= 1024) return int(n);
  }
  int n = cpu_info().physical_cores;
  return n > 0 ? n : 1;
}

ThreadPool &default_thread_pool() {
  static ThreadPool pool(default_thread_count());
  return pool;
}

ThreadPool::ThreadPool(int threads) : n_threads_(threads > 0 ? threads : default_thread_count()) {
  workers_.reserve(size_t(n_threads_ - 1));
  for (int i = 1; i < n_threads_; i++) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto &t : workers_) t.join();
}

void ThreadPool::call(int index) {
  try {
    thunk_(ctx_, index, n_threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::dispatch(Thunk thunk, void *ctx, bool everyone) {
  std::lock_guard<std::mutex> submit(submit_mutex_);
  if (n_threads_ == 1) {
    thunk(ctx, 0, 1);
    return;
  }
  thunk_ = thunk;
  ctx_ = ctx;
  error_ = nullptr;
  const uint64_t g = generation_.load() + 1;
  state_.store((g << 32) | (everyone ? kEveryone | uint64_t(n_threads_ - 1) : 0));
  generation_.store(g);  // publishes the job (seq_cst, paired with the workers' loads)
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    wake_.notify_all();
  }
  call(0);
  // A shared job is closed once the caller has done its part: workers that have not joined by then
  // (descheduled by another process) are not waited for.
  if (!everyone) state_.fetch_or(kClosed);
  for (int spins = 0; (state_.load(std::memory_order_acquire) & kCount) != 0; spins++) {
    if (spins < 4096) QINFER_PAUSE();
    else std::this_thread::yield();  // a worker was descheduled: give it the core
  }
  if (error_) std::rethrow_exception(error_);
}

bool ThreadPool::join(uint64_t g) {
  uint64_t s = state_.load();
  for (;;) {
    if ((s >> 32) != (g & 0xFFFFFFFFu)) return false;  // a newer job replaced it
    if (s & kEveryone) return true;                      // counted in already
    if (s & kClosed) return false;
    if (state_.compare_exchange_weak(s, s + 1)) return true;
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto spin_until = std::chrono::steady_clock::now() + kSpin;
    uint64_t g;
    for (int i = 0;; i++) {
      g = generation_.load(std::memory_order_acquire);
      if (g != seen || stop_.load(std::memory_order_relaxed)) break;
      QINFER_PAUSE();
      if ((i & 255) == 255 && std::chrono::steady_clock::now() > spin_until) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen || stop_.load(); });
        sleepers_.fetch_sub(1);
        spin_until = std::chrono::steady_clock::now() + kSpin;
      }
    }
    if (stop_.load()) return;
    seen = g;
    if (!join(g)) continue;
    call(index);
    state_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace qinfer
