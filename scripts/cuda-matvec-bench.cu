// Kernel benchmark of the CUDA backend: decode matrix-vector GB/s of every weight format against the
// device-to-device copy bandwidth measured in the same run. Built and run by scripts/device-check.sh bench.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "backends/cuda/cuda-formats.cuh"
#include "backends/cuda/cuda-kernels.h"

using namespace qinfer::cuda;

#define CHECK(x)                                                                    \
  do {                                                                              \
    cudaError_t e_ = (x);                                                           \
    if (e_ != cudaSuccess) {                                                        \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (0)

// Median milliseconds of `reps` timed calls after warm-up.
template <class F>
float median_ms(F &&f, int reps) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; i++) f(i);
  std::vector<float> ms;
  for (int i = 0; i < reps; i++) {
    CHECK(cudaEventRecord(a));
    f(i);
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float t;
    CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int main(int argc, char **argv) {
  const int64_t rows = argc > 1 ? atoll(argv[1]) : 14336, cols = argc > 2 ? atoll(argv[2]) : 4096;
  const int copies = 6;  // rotate weight copies so the 50 MB L2 cannot hold them
  std::mt19937 gen(1234);

  const size_t copy_bytes = size_t(1) << 30;
  void *ca, *cb;
  CHECK(cudaMalloc(&ca, copy_bytes));
  CHECK(cudaMalloc(&cb, copy_bytes));
  CHECK(cudaMemset(ca, 1, copy_bytes));
  const float copy_ms = median_ms([&](int) { CHECK(cudaMemcpyAsync(cb, ca, copy_bytes, cudaMemcpyDeviceToDevice)); }, 20);
  const double copy_gbs = 2.0 * copy_bytes / (copy_ms * 1e6);  // bytes read + bytes written
  CHECK(cudaFree(ca));
  CHECK(cudaFree(cb));
  std::printf("device-to-device copy: %.0f GB/s (1 GiB, read + write)\n", copy_gbs);

  std::vector<float> hx(static_cast<size_t>(cols));
  std::uniform_real_distribution<float> ud(-1.f, 1.f);
  for (float &v : hx) v = ud(gen);
  float *x, *y;
  CHECK(cudaMalloc(&x, hx.size() * 4));
  CHECK(cudaMalloc(&y, size_t(rows) * 4));
  CHECK(cudaMemcpy(x, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice));

  const char *names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"};
  const int32_t types[] = {QINFER_TYPE_F32, QINFER_TYPE_F16, QINFER_TYPE_BF16, QINFER_TYPE_Q8_0, QINFER_TYPE_Q4_0,
                           QINFER_TYPE_Q4_1, QINFER_TYPE_Q5_0, QINFER_TYPE_Q5_1, QINFER_TYPE_Q2_K, QINFER_TYPE_Q3_K,
                           QINFER_TYPE_Q4_K, QINFER_TYPE_Q5_K, QINFER_TYPE_Q6_K, QINFER_TYPE_IQ4_NL, QINFER_TYPE_IQ4_XS};
  std::printf("\n| format | weight MiB | us | GB/s | of copy |\n| --- | --- | --- | --- | --- |\n");
  for (size_t f = 0; f < sizeof types / sizeof types[0]; f++) {
    uint64_t row_bytes = 0;
    with_format(types[f], [&](auto fmt) {
      using F = decltype(fmt);
      row_bytes = uint64_t(cols / F::kBlockElems) * F::kBlockBytes;
    });
    const size_t bytes = row_bytes * size_t(rows);
    // Random bytes with every 16-bit word's exponent tamed, so scales are finite and non-zero.
    std::vector<uint16_t> hw(bytes / 2);
    std::uniform_int_distribution<int> ub(0, 0xffff);
    for (auto &v : hw) v = uint16_t((ub(gen) & 0xb3ff) | 0x3000);
    std::vector<uint8_t *> w(copies);
    for (auto &p : w) {
      CHECK(cudaMalloc(&p, bytes));
      CHECK(cudaMemcpy(p, hw.data(), bytes, cudaMemcpyHostToDevice));
    }
    const float ms = median_ms([&](int i) { CHECK(launch_matmul(types[f], w[i % copies], x, y, rows, cols, 1, nullptr)); }, 60);
    const double gbs = double(bytes + cols * 4 + rows * 4) / (ms * 1e6);
    std::printf("| %s | %.1f | %.1f | %.0f | %.0f%% |\n", names[f], bytes / 1048576.0, ms * 1e3, gbs, 100.0 * gbs / copy_gbs);
    for (auto p : w) CHECK(cudaFree(p));
  }
  CHECK(cudaDeviceSynchronize());
  return 0;
}
