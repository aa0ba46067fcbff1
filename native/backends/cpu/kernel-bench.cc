// Measures read bandwidth and matrix-product speed on buffers laid out as a model's weights would be.
#include "kernel-bench.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/cpu-info.h"
#include "core/error.h"
#include "matmul.h"
#include "quant/reference.h"

namespace qinfer::cpu {
namespace {

using Clock = std::chrono::steady_clock;

struct AlignedFree {
  void operator()(void *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

Buffer alloc(uint64_t bytes) {
  void *p = std::aligned_alloc(64, (bytes + 63) & ~uint64_t(63));
  if (!p) throw Error(QINFER_E_OUT_OF_MEMORY, "benchmark: cannot allocate " + std::to_string(bytes >> 20) + " MiB");
  return Buffer(static_cast<uint8_t *>(p));
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sum of 64-bit words; eight independent chains keep many loads in flight (the compiler vectorizes it).
uint64_t sum_words(const uint64_t *p, size_t n) {
  uint64_t a[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) a[k] += p[i + k];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

}  // namespace

double measure_read_bandwidth(ThreadPool &pool, uint64_t bytes, int reps) {
  // Timed in windows of kWindow bytes cycled through the whole buffer, so that this is the same
  // statistic as a product timed per weight copy: the best window is the least disturbed one.
  constexpr uint64_t kWindow = 16u << 20;
  bytes = std::max(bytes, 2 * kWindow) / kWindow * kWindow;
  Buffer buf = alloc(bytes);
  // Touch every page in parallel so first-touch faults are not timed and pages spread over threads.
  const size_t words = bytes / 8, window_words = kWindow / 8;
  auto *w = reinterpret_cast<uint64_t *>(buf.get());
  pool.run([&](int i, int n) {
    size_t b = words / size_t(n) * size_t(i), e = i == n - 1 ? words : words / size_t(n) * size_t(i + 1);
    for (size_t k = b; k < e; k++) w[k] = k;
  });
  std::vector<uint64_t> sink(size_t(pool.size()));
  const size_t per_thread = window_words / size_t(pool.size()) / 8 * 8;
  const double read_bytes = double(per_thread * size_t(pool.size()) * 8);
  const size_t windows = words / window_words;
  double best = 0;
  for (size_t r = 0; r < size_t(reps) * windows; r++) {
    const uint64_t *base = w + (r % windows) * window_words;
    auto t0 = Clock::now();
    pool.run([&](int i, int) { sink[size_t(i)] += sum_words(base + per_thread * size_t(i), per_thread); });
    best = std::max(best, read_bytes / seconds_since(t0));
  }
  volatile uint64_t keep = 0;
  for (uint64_t v : sink) keep = keep + v;
  return best;
}

BenchTiming bench_matmul(const Kernels &k, ThreadPool &pool, int32_t type, int64_t rows, int64_t cols, int64_t batch,
                         double min_seconds, bool resident) {
  const quant::QuantTraits *qt = quant::quant_traits(type);
  if (!qt || !matmul_supported(k, type)) throw Error(QINFER_E_UNSUPPORTED, "benchmark: type not computed by these kernels");
  const uint64_t row_bytes = type_row_bytes(type, cols);
  const uint64_t matrix_bytes = row_bytes * uint64_t(rows);

  // Weights: a few quantized random rows tiled over the matrix (speed does not depend on the values).
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t seed_rows = 8;
  std::vector<float> src(size_t(seed_rows * cols));
  for (float &v : src) v = dist(rng);
  std::vector<uint8_t> seed(size_t(seed_rows) * row_bytes);
  for (int64_t r = 0; r < seed_rows; r++) qt->quantize(src.data() + r * cols, seed.data() + size_t(r) * row_bytes, cols);

  // Decode cycles through copies totalling several times the last-level cache.
  uint64_t l3 = cpu_info().l3_bytes ? cpu_info().l3_bytes : (32u << 20);
  int copies = batch == 1 && !resident ? int(std::max<uint64_t>(1, (4 * l3 + matrix_bytes - 1) / matrix_bytes)) : 1;
  Buffer weights = alloc(matrix_bytes * uint64_t(copies));
  pool.parallel_for(rows * copies, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++)
      std::memcpy(weights.get() + size_t(r) * row_bytes, seed.data() + size_t(r % seed_rows) * row_bytes, row_bytes);
  });
  std::vector<float> x(size_t(batch * cols)), y(size_t(batch * rows));
  for (float &v : x) v = dist(rng);

  auto once = [&](int copy) {
    matmul(k, pool, type, weights.get() + matrix_bytes * uint64_t(copy), rows, cols, x.data(), cols, batch, y.data(), rows);
  };
  once(0);  // warm-up: page faults, thread wake-up, activation scratch
  std::vector<double> times;
  auto start = Clock::now();
  for (int rep = 0; rep < 3 || seconds_since(start) < min_seconds; rep++) {
    auto t0 = Clock::now();
    once(rep % copies);
    times.push_back(seconds_since(t0));
    if (rep > 100000) break;
  }
  std::sort(times.begin(), times.end());
  BenchTiming t;
  t.best_seconds = times.front();
  t.median_seconds = times[times.size() / 2];
  t.repetitions = int(times.size());
  t.bytes = matrix_bytes;
  return t;
}

}  // namespace qinfer::cpu
