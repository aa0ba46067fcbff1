// Kernel benchmark of the CUDA backend, all in one run: device-to-device copy bandwidth; matrix-vector GB/s
// of every weight format (and of Q4_0/Q8_0 at the Llama-3-8B and TinyLlama shapes) as a fraction of it;
// batched Q4_0/Q8_0 products in TFLOP/s against cuBLAS f16 on the same shape, checked against cuBLAS's
// result, after checking the 8-bit decode path against a host reference at odd shapes. Prints Markdown tables; writes every figure as JSON to argv[1] when given; argv[2] = "batched"
// runs only the batched products (for a profiler), "decode" only the Q4_0/Q8_0 matrix-vector rows.
//   nvcc -O3 -gencode arch=compute_90a,code=sm_90a -DQINFER_CUDA_HAS_WGMMA -std=c++17 -Inative -Inative/include scripts/cuda-matvec-bench.cu \
//     native/backends/cuda/cuda-matmul*.cu native/backends/cuda/cuda-matvec-q8.cu -ldl -o /tmp/bench && /tmp/bench out.json [decode|batched]
// (sm_90a and QINFER_CUDA_HAS_WGMMA: the Hopper build of the module, with the wgmma products; QINFER_CUDA_WGMMA=0 times
// the mma.sync kernels instead.)
// cuBLAS is opened with dlopen (libcublas.so.13 or .12 beside the driver's toolkit): the benchmark alone
// uses it, and it builds where the toolkit has no cuBLAS headers.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <cuda_fp16.h>

#include "backends/cuda/cuda-formats.cuh"
#include "qinfer/blocks.h"
#include "backends/cuda/cuda-kernels.h"
#include "backends/cuda/cuda-matmul-paths.h"

using namespace qinfer::cuda;

#define CHECK(x)                                                                                  \
  do {                                                                                            \
    cudaError_t e_ = (x);                                                                         \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));      \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)

// The few cuBLAS entry points used, with their C signatures (cublas_api.h) and enum values.
using cublas_create_fn = int (*)(void **);
using cublas_gemm_ex_fn = int (*)(void *, int, int, int, int, int, const void *, const void *, int, int, const void *, int, int,
                                  const void *, void *, int, int, int, int);
constexpr int kOpN = 0, kOpT = 1, kR16F = 2, kR32F = 0, kCompute32F = 68, kGemmDefault = -1;

struct Cublas {
  void *handle = nullptr;
  cublas_gemm_ex_fn gemm = nullptr;
  bool open() {
    void *lib = nullptr;
    for (const char *name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    if (!lib) return false;
    auto create = reinterpret_cast<cublas_create_fn>(dlsym(lib, "cublasCreate_v2"));
    gemm = reinterpret_cast<cublas_gemm_ex_fn>(dlsym(lib, "cublasGemmEx"));
    return create && gemm && create(&handle) == 0;
  }
  // y[tokens][rows] = x[tokens][cols] . w[rows][cols]^T, f16 in, f32 out and accumulation.
  int run(const __half *w, const __half *x, float *y, int rows, int cols, int tokens) const {
    const float one = 1.f, zero = 0.f;
    return gemm(handle, kOpT, kOpN, rows, tokens, cols, &one, w, kR16F, cols, x, kR16F, cols, &zero, y, kR32F, rows, kCompute32F,
                kGemmDefault);
  }
};

// Median over 15 runs of batch() on `stream`, in microseconds per call (batch() makes `per_batch` calls).
template <class B>
double median_per_call_us(cudaStream_t stream, int per_batch, B &&batch) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  std::vector<double> us;
  for (int r = 0; r < 15; r++) {
    CHECK(cudaEventRecord(a, stream));
    batch();
    CHECK(cudaEventRecord(b, stream));
    CHECK(cudaEventSynchronize(b));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    us.push_back(1e3 * ms / per_batch);
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

// The mean time of `per_batch` back-to-back calls f(i) after a warm-up batch, median of 15.
template <class F>
double median_us(F &&f, int per_batch) {
  for (int i = 0; i < per_batch; i++) f(i);
  int call = 0;
  return median_per_call_us(nullptr, per_batch, [&] {
    for (int i = 0; i < per_batch; i++) f(call++);
  });
}

// The same for `per_batch` calls captured once into a CUDA graph and replayed: device time without the
// host's launch gaps, as a captured decode step runs. f(i, stream) enqueues call i.
template <class F>
double graph_us(F &&f, int per_batch) {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  f(0, s);  // first call outside the capture: kernel attributes are set once, there
  CHECK(cudaStreamSynchronize(s));
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < per_batch; i++) f(i, s);
  CHECK(cudaStreamEndCapture(s, &g));
  CHECK(cudaGraphInstantiate(&ge, g, 0));
  CHECK(cudaGraphLaunch(ge, s));
  const double us = median_per_call_us(s, per_batch, [&] { CHECK(cudaGraphLaunch(ge, s)); });
  CHECK(cudaGraphExecDestroy(ge));
  CHECK(cudaGraphDestroy(g));
  CHECK(cudaStreamDestroy(s));
  return us;
}

uint64_t row_bytes_of(int32_t type, int64_t cols) {
  uint64_t rb = 0;
  with_format(type, [&](auto fmt) {
    using F = decltype(fmt);
    rb = uint64_t(cols / F::kBlockElems) * F::kBlockBytes;
  });
  return rb;
}

// Enough copies of random weights that the set exceeds the 50 MB L2 several times over.
struct Weights {
  std::vector<uint8_t *> copies;
  size_t bytes = 0;
  Weights(int32_t type, int64_t rows, int64_t cols, std::mt19937 &gen) {
    bytes = row_bytes_of(type, cols) * size_t(rows);
    // Random bytes with every 16-bit word's exponent tamed, so scales are finite and non-zero.
    std::vector<uint16_t> h(bytes / 2);
    std::uniform_int_distribution<int> ub(0, 0xffff);
    for (auto &v : h) v = uint16_t((ub(gen) & 0xb3ff) | 0x3000);
    const size_t n = std::max<size_t>(3, (size_t(200) << 20) / bytes + 1);
    copies.resize(n);
    for (auto &p : copies) {
      CHECK(cudaMalloc(&p, bytes));
      CHECK(cudaMemcpy(p, h.data(), bytes, cudaMemcpyHostToDevice));
    }
  }
  ~Weights() {
    for (auto p : copies) cudaFree(p);
  }
  uint8_t *operator[](int i) const { return copies[size_t(i) % copies.size()]; }
};

__global__ void to_half(const float *x, __half *y, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = __float2half_rn(x[i]);
}

float *device_random(size_t n, std::mt19937 &gen) {
  std::vector<float> h(n);
  std::uniform_real_distribution<float> ud(-1.f, 1.f);
  for (float &v : h) v = ud(gen);
  float *d;
  CHECK(cudaMalloc(&d, n * 4));
  CHECK(cudaMemcpy(d, h.data(), n * 4, cudaMemcpyHostToDevice));
  return d;
}

// Host reference of a Q4_0/Q8_0 product with activations rounded per 32-block as the CPU rounds them
// (the decode path computes exactly that up to float summation order); exits on a mismatch. pre 1 / 2: the
// product fused with an RMSNorm (weighted) / SiLU*mul of its activations, whose values (written back by the
// kernel) must match the host's and are then the ones rounded; add: with the residual add after it.
void check_decode_path(int32_t type, int64_t rows, int64_t cols, int tokens, std::mt19937 &gen, int pre = 0, bool add = false) {
  const uint64_t rb = row_bytes_of(type, cols);
  std::vector<uint16_t> hw(rb * size_t(rows) / 2);
  std::uniform_int_distribution<int> ub(0, 0xffff);
  for (auto &v : hw) v = uint16_t((ub(gen) & 0xb3ff) | 0x3000);
  std::vector<float> hx(size_t(tokens * cols)), xq(hx.size()), wf(size_t(rows * cols));
  std::vector<float> h2(pre == 2 ? hx.size() : size_t(cols)), hres(size_t(tokens * rows)), hpre(hx.size());
  std::uniform_real_distribution<float> ud(-1.f, 1.f);
  for (float &v : hx) v = ud(gen);
  for (float &v : h2) v = ud(gen);
  for (float &v : hres) v = ud(gen);
  const float eps = 1e-5f;
  for (int t = 0; t < tokens; t++) {
    double ss = 0;
    for (int64_t c = 0; c < cols; c++) ss += double(hx[t * cols + c]) * hx[t * cols + c];
    const float inv = float(1.0 / std::sqrt(ss / double(cols) + eps));
    for (int64_t c = 0; c < cols; c++) {
      const float v = hx[t * cols + c];
      hpre[t * cols + c] = pre == 1 ? v * inv * h2[c] : pre == 2 ? v / (1.0f + std::exp(-v)) * h2[t * cols + c] : v;
    }
  }
  uint8_t *w;
  float *x, *y, *a2, *pout, *res, *sum;
  CHECK(cudaMalloc(&w, hw.size() * 2));
  CHECK(cudaMalloc(&x, hx.size() * 4));
  CHECK(cudaMalloc(&y, size_t(tokens * rows) * 4));
  CHECK(cudaMalloc(&a2, h2.size() * 4));
  CHECK(cudaMalloc(&pout, hx.size() * 4));
  CHECK(cudaMalloc(&res, hres.size() * 4));
  CHECK(cudaMalloc(&sum, hres.size() * 4));
  CHECK(cudaMemcpy(w, hw.data(), hw.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(x, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(a2, h2.data(), h2.size() * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(res, hres.data(), hres.size() * 4, cudaMemcpyHostToDevice));
  if (pre || add) {
    MatvecFusion f;
    f.pre = pre, f.a2 = pre ? a2 : nullptr, f.pre_out = pre ? pout : nullptr, f.eps = eps;
    if (add) f.res = res, f.sum = sum;
    CHECK(launch_matvec_q8(type, w, x, y, rows, cols, tokens, nullptr, &f));
  } else {
    CHECK(launch_matmul(type, w, x, y, rows, cols, tokens, nullptr));
  }
  std::vector<float> hy(size_t(tokens * rows)), hsum(hy.size());
  CHECK(cudaMemcpy(hy.data(), y, hy.size() * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(hsum.data(), sum, hsum.size() * 4, cudaMemcpyDeviceToHost));
  std::vector<float> act = hx;
  if (pre) {
    CHECK(cudaMemcpy(act.data(), pout, act.size() * 4, cudaMemcpyDeviceToHost));
    double perr = 0, pscale = 0;
    for (size_t i = 0; i < act.size(); i++) perr = std::max(perr, std::fabs(double(act[i]) - hpre[i])), pscale = std::max(pscale, std::fabs(double(hpre[i])));
    if (!(perr <= 1e-5 * pscale)) {
      std::fprintf(stderr, "fused activations wrong: pre %d, %lld x %lld: error %.2e\n", pre, (long long)rows, (long long)cols, perr / pscale);
      std::exit(1);
    }
  }
  for (size_t b = 0; b < act.size() / 32; b++) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(act[32 * b + j]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f, dh = qinfer_half_to_f32(qinfer_f32_to_half(d));
    for (int j = 0; j < 32; j++) xq[32 * b + j] = float(std::round(act[32 * b + j] * id)) * dh;
  }
  const auto *bytes = reinterpret_cast<const uint8_t *>(hw.data());
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = 0; b < cols / 32; b++) {
      const bool q4 = type == QINFER_TYPE_Q4_0;
      const uint8_t *blk = bytes + r * rb + b * (q4 ? 18 : 34);
      const float d = qinfer_half_to_f32(uint16_t(blk[0] | blk[1] << 8));
      for (int j = 0; j < 32; j++) {
        const int q = q4 ? (j < 16 ? (blk[2 + j] & 15) - 8 : (blk[2 + j - 16] >> 4) - 8) : int(int8_t(blk[2 + j]));
        wf[r * cols + b * 32 + j] = float(q) * d;
      }
    }
  for (void *p : {(void *)w, (void *)x, (void *)y, (void *)a2, (void *)pout, (void *)res, (void *)sum}) CHECK(cudaFree(p));
  double err = 0, scale = 0;
  bool sums = true;
  for (int t = 0; t < tokens; t++)
    for (int64_t r = 0; r < rows; r++) {
      double ref = 0, mag = 0;
      for (int64_t c = 0; c < cols; c++) {
        ref += double(wf[r * cols + c]) * xq[t * cols + c];
        mag += std::fabs(double(wf[r * cols + c]) * act[t * cols + c]);
      }
      const size_t o = size_t(t * rows + r);
      const double v = hy[o];
      err = std::isfinite(v) ? std::max(err, std::fabs(v - ref)) : INFINITY;
      scale = std::max(scale, mag);
      if (add && hsum[o] != hres[o] + hy[o]) sums = false;
    }
  if (!(err / scale < 1e-5) || !sums) {
    std::fprintf(stderr, "decode path wrong: type %d, %lld x %lld, %d tokens, pre %d, add %d: error %.2e%s\n", type, (long long)rows, (long long)cols,
                 tokens, pre, int(add), err / scale, sums ? "" : ", residual sums differ");
    std::exit(1);
  }
}

struct Json {
  std::string s = "{";
  void field(const char *k, const std::string &v) { s += (s.size() > 1 ? ", \"" : "\"") + std::string(k) + "\": " + v; }
};

// Writes the report to `path` (nothing without one); the exit status.
int write_json(const char *path, const Json &json) {
  if (!path) return 0;
  FILE *f = std::fopen(path, "w");
  if (!f) return std::fprintf(stderr, "cannot write %s\n", path), 1;
  std::fprintf(f, "%s}\n", json.s.c_str());
  std::fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  std::mt19937 gen(1234);
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));

  const size_t copy_bytes = size_t(1) << 30;
  void *ca, *cb;
  CHECK(cudaMalloc(&ca, copy_bytes));
  CHECK(cudaMalloc(&cb, copy_bytes));
  CHECK(cudaMemset(ca, 1, copy_bytes));
  const double copy_us = median_us([&](int) { CHECK(cudaMemcpyAsync(cb, ca, copy_bytes, cudaMemcpyDeviceToDevice)); }, 5);
  const double copy_gbs = 2.0 * copy_bytes / (copy_us * 1e3);  // bytes read + bytes written
  CHECK(cudaFree(ca));
  CHECK(cudaFree(cb));
  std::printf("%s: device-to-device copy %.0f GB/s (1 GiB, read + write)\n", prop.name, copy_gbs);
  for (int32_t type : {QINFER_TYPE_Q4_0, QINFER_TYPE_Q8_0})
    for (int tokens : {1, 3})
      for (auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 512}, {131, 2304}, {4097, 4096}}) check_decode_path(type, rows, cols, tokens, gen);
  std::printf("decode path (Q4_0, Q8_0; 1 and 3 tokens; 37 x 512, 131 x 2304, 4097 x 4096) matches the host reference\n");
  for (int32_t type : {QINFER_TYPE_Q4_0, QINFER_TYPE_Q8_0})
    for (int tokens : {1, 2, 4})
      for (int pre : {0, 1, 2})
        for (bool add : {false, true})
          if (pre || add)
            for (auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 512}, {2048, 5632}}) check_decode_path(type, rows, cols, tokens, gen, pre, add);
  std::printf("fused decode kernels (RMSNorm / SiLU*mul before, residual add after; 1, 2, 4 tokens) match the host reference\n");
  Json json;
  json.field("device", "\"" + std::string(prop.name) + "\"");
  json.field("copy_gbs", std::to_string(copy_gbs));

  float *x = device_random(size_t(512) * 16384, gen), *y;
  CHECK(cudaMalloc(&y, size_t(512) * 32768 * 4));

  // Matrix-vector: every format at 14336 x 4096; Q4_0 and Q8_0 (and f16 for scale) at the model shapes.
  struct Shape {
    int64_t rows, cols;
  };
  const Shape ffn = {14336, 4096};
  const Shape shapes[] = {{4096, 4096}, {14336, 4096}, {4096, 14336}, {2048, 2048}, {5632, 2048}, {2048, 5632}, {32000, 2048}};
  const char *names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"};
  const int32_t types[] = {QINFER_TYPE_F32, QINFER_TYPE_F16, QINFER_TYPE_BF16, QINFER_TYPE_Q8_0, QINFER_TYPE_Q4_0,
                           QINFER_TYPE_Q4_1, QINFER_TYPE_Q5_0, QINFER_TYPE_Q5_1, QINFER_TYPE_Q2_K, QINFER_TYPE_Q3_K,
                           QINFER_TYPE_Q4_K, QINFER_TYPE_Q5_K, QINFER_TYPE_Q6_K, QINFER_TYPE_IQ4_NL, QINFER_TYPE_IQ4_XS};
  std::printf("\nmatrix-vector (1 token): 20 products over rotated weight copies captured in a CUDA graph, median of 15\n"
              "replays (GB/s from it); 'stream us' launches the same 20 one by one (host launch gaps included)\n\n");
  std::printf("| format | rows x cols | weight MiB | us | GB/s | of copy | stream us |\n| --- | --- | --- | --- | --- | --- | --- |\n");
  std::string mv = "[";
  const bool batched_only = argc > 2 && std::string(argv[2]) == "batched", decode_only = argc > 2 && std::string(argv[2]) == "decode";
  for (size_t f = 0; f < (batched_only ? 0 : sizeof types / sizeof types[0]); f++) {
    const bool model_shapes = types[f] == QINFER_TYPE_Q4_0 || types[f] == QINFER_TYPE_Q8_0 || types[f] == QINFER_TYPE_F16;
    if (decode_only && types[f] != QINFER_TYPE_Q4_0 && types[f] != QINFER_TYPE_Q8_0) continue;
    for (const Shape &s : shapes) {
      if (!model_shapes && (s.rows != ffn.rows || s.cols != ffn.cols)) continue;
      // QINFER_BENCH_ONLY=format:ROWSxCOLS times that row alone (for a profiler).
      if (const char *only = std::getenv("QINFER_BENCH_ONLY");
          only && std::string(only) != std::string(names[f]) + ":" + std::to_string(s.rows) + "x" + std::to_string(s.cols))
        continue;
      Weights w(types[f], s.rows, s.cols, gen);
      const double us = graph_us([&](int i, cudaStream_t st) { CHECK(launch_matmul(types[f], w[i], x, y, s.rows, s.cols, 1, st)); }, 20);
      const double stream_us = median_us([&](int i) { CHECK(launch_matmul(types[f], w[i], x, y, s.rows, s.cols, 1, nullptr)); }, 20);
      const double gbs = double(w.bytes + s.cols * 4 + s.rows * 4) / (us * 1e3);
      std::printf("| %s | %lld x %lld | %.1f | %.1f | %.0f | %.0f%% | %.1f |\n", names[f], (long long)s.rows, (long long)s.cols,
                  w.bytes / 1048576.0, us, gbs, 100.0 * gbs / copy_gbs, stream_us);
      char buf[320];
      std::snprintf(buf, sizeof buf,
                    "%s{\"format\": \"%s\", \"rows\": %lld, \"cols\": %lld, \"us\": %.2f, \"gbs\": %.1f, \"of_copy\": %.4f, \"stream_us\": %.2f}",
                    mv.size() > 1 ? ", " : "", names[f], (long long)s.rows, (long long)s.cols, us, gbs, gbs / copy_gbs, stream_us);
      mv += buf;
    }
  }
  json.field("matvec", mv + "]");
  if (decode_only) return write_json(argc > 1 ? argv[1] : nullptr, json);

  // Batched products against cuBLAS f16 on the same shape; cuBLAS multiplies the same weights,
  // dequantized (GET_ROWS of every row) and rounded to f16, so the two results must agree.
  Cublas cublas;
  const bool have_cublas = cublas.open();
  if (!have_cublas) std::printf("\ncuBLAS not found: batched products without the reference\n");
  std::printf("\nbatched products, mean of 5 back-to-back over rotated weight copies, median of 15\n\n");
  std::printf("| format | rows x cols | tokens | us | TFLOP/s | cuBLAS f16 us | cuBLAS TFLOP/s | x cuBLAS | error vs cuBLAS |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::string mm = "[";
  const int batch[] = {1, 4, 8, 16, 32, 64, 128, 512};
  for (int32_t type : {QINFER_TYPE_Q4_0, QINFER_TYPE_Q8_0}) {
    for (const Shape &s : {ffn, Shape{4096, 14336}, Shape{4096, 4096}, Shape{5632, 2048}, Shape{2048, 5632}, Shape{2048, 2048}}) {
      Weights w(type, s.rows, s.cols, gen);
      __half *wh = nullptr, *xh = nullptr;
      float *wf = nullptr, *yc = nullptr;
      int32_t *ids = nullptr;
      std::vector<int32_t> hid(size_t(s.rows));
      for (size_t i = 0; i < hid.size(); i++) hid[i] = int32_t(i);
      CHECK(cudaMalloc(&ids, hid.size() * 4));
      CHECK(cudaMemcpy(ids, hid.data(), hid.size() * 4, cudaMemcpyHostToDevice));
      CHECK(cudaMalloc(&wf, size_t(s.rows * s.cols) * 4));
      CHECK(cudaMalloc(&wh, size_t(s.rows * s.cols) * 2));
      CHECK(cudaMalloc(&xh, size_t(512 * s.cols) * 2));
      CHECK(cudaMalloc(&yc, size_t(512 * s.rows) * 4));
      CHECK(launch_get_rows(type, w[0], s.rows, s.cols, ids, s.rows, wf, nullptr));
      to_half<<<4096, 256>>>(wf, wh, s.rows * s.cols);
      to_half<<<4096, 256>>>(x, xh, 512 * s.cols);
      CHECK(cudaDeviceSynchronize());
      for (int t : batch) {
        const double us = median_us([&](int i) { CHECK(launch_matmul(type, w[i], x, y, s.rows, s.cols, t, nullptr)); }, 5);
        const double flop = 2.0 * s.rows * s.cols * t, tf = flop / (us * 1e6);
        double cu_us = 0, err = 0;
        if (have_cublas) {
          cu_us = median_us([&](int) {
            if (cublas.run(wh, xh, yc, int(s.rows), int(s.cols), t)) std::exit((std::fprintf(stderr, "cublasGemmEx failed\n"), 1));
          }, 5);
          // Same weights in both: y from copy 0 against cuBLAS.
          CHECK(launch_matmul(type, w[0], x, y, s.rows, s.cols, t, nullptr));
          std::vector<float> a(size_t(t * s.rows)), b(a.size());
          CHECK(cudaMemcpy(a.data(), y, a.size() * 4, cudaMemcpyDeviceToHost));
          CHECK(cudaMemcpy(b.data(), yc, b.size() * 4, cudaMemcpyDeviceToHost));
          double num = 0, den = 0;
          bool finite = true;
          for (size_t i = 0; i < a.size(); i++) {
            finite = finite && std::isfinite(a[i]) && std::isfinite(b[i]);
            num = std::max(num, double(std::fabs(a[i] - b[i])));
            den = std::max(den, double(std::fabs(b[i])));
          }
          err = finite && den > 0 ? num / den : INFINITY;
        }
        const double cu_tf = have_cublas ? flop / (cu_us * 1e6) : 0;
        const char *name = type == QINFER_TYPE_Q4_0 ? "q4_0" : "q8_0";
        std::printf("| %s | %lld x %lld | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.1e |\n", name, (long long)s.rows, (long long)s.cols, t, us,
                    tf, cu_us, cu_tf, have_cublas ? cu_us / us : 0.0, err);
        char buf[320];
        std::snprintf(buf, sizeof buf,
                      "%s{\"format\": \"%s\", \"rows\": %lld, \"cols\": %lld, \"tokens\": %d, \"us\": %.2f, \"tflops\": %.2f, "
                      "\"cublas_us\": %.2f, \"cublas_tflops\": %.2f, \"x_cublas\": %.3f, \"error\": %.2e}",
                      mm.size() > 1 ? ", " : "", name, (long long)s.rows, (long long)s.cols, t, us, tf, cu_us, cu_tf,
                      have_cublas ? cu_us / us : 0.0, err);
        mm += buf;
      }
      for (void *p : {(void *)wh, (void *)xh, (void *)wf, (void *)yc, (void *)ids}) CHECK(cudaFree(p));
    }
  }
  json.field("matmul", mm + "]");
  CHECK(cudaDeviceSynchronize());
  return write_json(argc > 1 ? argv[1] : nullptr, json);
}
