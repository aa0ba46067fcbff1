// A persistent pool of worker threads that run one parallel job at a time with low dispatch latency.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace qinfer {

class ThreadPool {
 public:
  // `threads` counts the calling thread too: a pool of 1 runs everything inline. 0 = physical cores.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return n_threads_; }

  // Calls fn(thread_index, n_threads) once on every thread (the caller is index 0) and returns when
  // all calls have returned (so a descheduled worker delays it: prefer parallel_for). Jobs from several callers are serialized. An exception thrown by any
  // call is rethrown here after the others finish.
  template <typename Fn>
  void run(Fn &&fn) {
    auto thunk = [](void *ctx, int i, int n) { (*static_cast<Fn *>(ctx))(i, n); };
    dispatch(thunk, &fn, true);
  }

  // Splits [0, n) into chunks of `grain` (the last may be shorter) handed out dynamically, so a
  // thread slowed down by another process does not hold up the others (a worker that has not
  // started when the caller runs out of chunks is not waited for); fn(begin, end).
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, Fn &&fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t chunks = (n + grain - 1) / grain;
    if (n_threads_ == 1 || chunks == 1) {
      fn(int64_t(0), n);
      return;
    }
    std::atomic<int64_t> next{0};
    auto body = [&](int, int) {
      for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
        int64_t b = c * grain;
        fn(b, b + grain < n ? b + grain : n);
      }
    };
    auto thunk = [](void *ctx, int i, int nt) { (*static_cast<decltype(body) *>(ctx))(i, nt); };
    dispatch(thunk, &body, false);
  }

 private:
  using Thunk = void (*)(void *ctx, int index, int n);
  // everyone: every worker must run the job (run); otherwise workers join until the caller has
  // finished its share, and the job ends when those that joined are done (parallel_for).
  void dispatch(Thunk thunk, void *ctx, bool everyone);
  bool join(uint64_t generation);
  void worker(int index);
  void call(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;  // one job at a time

  // Job state: generation_ is bumped to publish a job. state_ holds the job's generation (high 32
  // bits), kEveryone, kClosed, and the count of workers still running it (kCount bits).
  static constexpr uint64_t kEveryone = 1u << 30, kClosed = 1u << 31, kCount = kEveryone - 1;
  Thunk thunk_ = nullptr;
  void *ctx_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> state_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

// Physical cores, or QINFER_THREADS when set to a positive integer.
int default_thread_count();

// The process-wide pool of default_thread_count() threads, created on first use.
ThreadPool &default_thread_pool();

}  // namespace qinfer
