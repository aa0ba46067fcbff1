// Times matrix-vector products through a backend's vtable (weights read per second), for the GPU issues' kernel tables.
// usage: qinfer-backend-bench <cpu|cuda|vulkan> <module.so or -> <rows> <cols> <type,type,...> [products]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/backend-module.h"
#include "qinfer/ggml-types.h"
#include "quant/reference.h"

namespace {

int type_id(const std::string &name) {
  for (int t = 0; t < QINFER_GGML_TYPE_COUNT; t++) {
    const qinfer_type_traits *tr = qinfer_type_traits_of(t);
    if (!tr || !tr->name) continue;
    std::string n = tr->name;
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return t;
  }
  return -1;
}

struct Buffers {
  const qinfer_backend *vt;
  std::vector<qinfer_buffer *> list;
  ~Buffers() {
    for (qinfer_buffer *b : list) vt->buffer_free(b);
  }
  qinfer_buffer *make(uint64_t bytes, const void *data) {
    qinfer_buffer *b = vt->buffer_alloc(0, bytes);
    if (!b) {
      std::fprintf(stderr, "buffer_alloc(%llu): %s\n", (unsigned long long)bytes, vt->last_error());
      std::exit(1);
    }
    list.push_back(b);
    if (data && vt->buffer_write(b, 0, data, bytes)) {
      std::fprintf(stderr, "buffer_write: %s\n", vt->last_error());
      std::exit(1);
    }
    return b;
  }
};

void check(const qinfer_backend *vt, int status, const char *what) {
  if (status == 0) return;
  std::fprintf(stderr, "%s: %s\n", what, vt->last_error());
  std::exit(1);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s <cpu|cuda|vulkan> <module.so|-> <rows> <cols> <type,...> [products]\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  const int64_t rows = std::atoll(argv[3]), cols = std::atoll(argv[4]);
  const int products = argc > 6 ? std::atoi(argv[6]) : 200;
  qinfer::BackendModule m = qinfer::open_backend(name, argv[2]);
  if (!m.available()) {
    std::fprintf(stderr, "%s backend unavailable: %s\n", name.c_str(), m.reason.c_str());
    return 1;
  }
  const qinfer_backend *vt = m.vtable;
  qinfer_device_info di{};
  vt->device_info(0, &di);

  std::mt19937 gen(12345);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(rows * cols)), x(static_cast<size_t>(cols));
  for (float &v : w) v = dist(gen);
  for (float &v : x) v = dist(gen);

  std::printf("%s on %s: %lld x %lld matrix-vector products, %d per timing, weights cycled past the caches\n", name.c_str(), di.name,
              (long long)rows, (long long)cols, products);
  std::printf("%-8s %10s %12s %10s\n", "format", "MiB", "us/product", "GB/s");
  std::stringstream types(argv[5]);
  for (std::string tname; std::getline(types, tname, ',');) {
    int type = type_id(tname);
    const qinfer::quant::QuantTraits *qt = type >= 0 ? qinfer::quant::quant_traits(type) : nullptr;
    if (!qt || !qt->quantize) {
      std::printf("%-8s unknown or not quantizable\n", tname.c_str());
      continue;
    }
    if (!vt->supports_op(0, QINFER_OP_MATVEC, type)) {
      std::printf("%-8s not supported by this backend\n", tname.c_str());
      continue;
    }
    const uint64_t rb = qinfer::quant::row_bytes(*qt, cols), bytes = rb * uint64_t(rows);
    std::vector<uint8_t> wq(bytes);
    // The reference quantizers are scalar (the K-quants search): spread the rows over every core.
    std::vector<std::thread> pool;
    const int64_t n_threads = std::max(1u, std::thread::hardware_concurrency());
    for (int64_t t = 0; t < n_threads; t++)
      pool.emplace_back([&, t] {
        for (int64_t r = t; r < rows; r += n_threads) qt->quantize(w.data() + r * cols, wq.data() + r * rb, cols);
      });
    for (std::thread &th : pool) th.join();
    Buffers bufs{vt, {}};
    // Enough copies that 512 MiB lie between two reads of one copy (last-level caches are smaller).
    const int copies = int(std::max<uint64_t>(1, (512ull << 20) / bytes + 1));
    std::vector<qinfer_buffer *> ws;
    for (int i = 0; i < copies; i++) ws.push_back(bufs.make(bytes, wq.data()));
    qinfer_buffer *xb = bufs.make(uint64_t(cols) * 4, x.data()), *yb = bufs.make(uint64_t(rows) * 4, nullptr);
    std::vector<qinfer_op> ops(static_cast<size_t>(products));
    for (int i = 0; i < products; i++) {
      qinfer_op &op = ops[size_t(i)];
      op = qinfer_op{};
      op.op = QINFER_OP_MATVEC;
      op.type = type;
      op.src[0] = ws[size_t(i % copies)];
      op.src[1] = xb;
      op.dst = yb;
      op.ne[0] = cols;
      op.ne[1] = rows;
    }
    check(vt, vt->compute(0, ops.data(), std::min(products, copies + 2)), "warm-up compute");
    check(vt, vt->synchronize(0), "warm-up synchronize");
    std::vector<double> seconds;
    for (int rep = 0; rep < 5; rep++) {
      auto t0 = std::chrono::steady_clock::now();
      check(vt, vt->compute(0, ops.data(), products), "compute");
      check(vt, vt->synchronize(0), "synchronize");
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / products);
    }
    std::sort(seconds.begin(), seconds.end());
    double med = seconds[seconds.size() / 2];
    std::printf("%-8s %10.1f %12.1f %10.1f\n", qt->name, double(bytes) / (1 << 20), med * 1e6, double(bytes) / med / 1e9);
  }
  return 0;
}
