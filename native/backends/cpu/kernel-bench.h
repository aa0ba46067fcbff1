// Kernel benchmark pieces: this machine's memory read bandwidth and timed matrix products (for `qinfer bench --kernels`).
#pragma once

#include <cstdint>

#include "core/thread-pool.h"
#include "kernels.h"

namespace qinfer::cpu {

struct BenchTiming {
  double best_seconds = 0;    // fastest repetition
  double median_seconds = 0;  // median repetition
  int repetitions = 0;
  uint64_t bytes = 0;  // bytes of weights one repetition reads
};

// Streams `bytes` (much larger than the last-level cache) through every thread of the pool, `reps`
// times, timing 16 MiB windows; bytes per second of the best window.
double measure_read_bandwidth(ThreadPool &pool, uint64_t bytes, int reps);

// Times products of a rows x cols weight of `type` with `batch` tokens. With batch 1 (decode), enough
// copies of the weights are cycled that every product reads them from memory, not from cache, unless
// `resident`: then one copy is reused, so a matrix that fits the caches measures the kernel's compute roof.
// Repeats until `min_seconds` have passed (at least 3 repetitions).
BenchTiming bench_matmul(const Kernels &k, ThreadPool &pool, int32_t type, int64_t rows, int64_t cols, int64_t batch,
                         double min_seconds, bool resident = false);

}  // namespace qinfer::cpu
