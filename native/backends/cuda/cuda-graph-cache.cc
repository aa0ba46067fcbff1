// Graph capture and replay of repeated op lists; a capture that fails falls back to plain launches.
#include "cuda-graph-cache.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace qinfer::cuda {

bool graphs_enabled() {
  static const bool on = [] {
    const char *e = std::getenv("QINFER_CUDA_GRAPHS");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

namespace {

// QINFER_CUDA_TIMING=1: device time of each graph replay (events around it, read at the next replay), summed up on
// stderr at exit: with the tokens per second of the same run, what the step costs on the GPU and beside it.
struct ReplayTiming {
  bool on = [] {
    const char *e = std::getenv("QINFER_CUDA_TIMING");
    return e && std::strcmp(e, "1") == 0;
  }();
  std::mutex mu;
  cudaEvent_t start = nullptr, stop = nullptr;
  bool pending = false;
  std::vector<float> ms;
  ~ReplayTiming() {
    if (ms.empty()) return;
    std::sort(ms.begin(), ms.end());
    std::fprintf(stderr, "qinfer-cuda graph replays: %zu, device time median %.1f us, min %.1f us, p90 %.1f us\n", ms.size(),
                 1e3 * ms[ms.size() / 2], 1e3 * ms.front(), 1e3 * ms[ms.size() * 9 / 10]);
  }
  void before(cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mu);
    if (!start && (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess)) on = false;
    if (pending && cudaEventQuery(stop) == cudaSuccess) {
      float t = 0;
      if (cudaEventElapsedTime(&t, start, stop) == cudaSuccess) ms.push_back(t);
    }
    cudaGetLastError();
    pending = on && cudaEventRecord(start, stream) == cudaSuccess;
  }
  void after(cudaStream_t stream) {
    if (pending) pending = cudaEventRecord(stop, stream) == cudaSuccess;
  }
};

ReplayTiming &timing() {
  static ReplayTiming t;
  return t;
}

}  // namespace

GraphCache::~GraphCache() { reset_exec(); }

bool GraphCache::same(const std::vector<qinfer_op> &a, const qinfer_op *ops, int n) {
  // qinfer_op has no padding, and callers value-initialize it, so bytes compare fields.
  return a.size() == size_t(n) && n > 0 && std::memcmp(a.data(), ops, sizeof(qinfer_op) * size_t(n)) == 0;
}

void GraphCache::reset_exec() {
  if (exec_) cudaGraphExecDestroy(exec_);
  exec_ = nullptr;
  captured_.clear();
}

bool GraphCache::replay(const qinfer_op *ops, int n, cudaStream_t stream, cudaError_t *err) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!exec_ || !same(captured_, ops, n)) return false;
  ReplayTiming &t = timing();
  if (t.on) t.before(stream);
  *err = cudaGraphLaunch(exec_, stream);
  if (t.on) t.after(stream);
  return true;
}

cudaError_t GraphCache::run(const qinfer_op *ops, int n, cudaStream_t stream, const std::function<cudaError_t()> &launch_all) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool repeated = graphs_enabled() && same(seen_, ops, n);
  seen_.assign(ops, ops + n);
  if (!repeated) return launch_all();
  // Only this thread's capture-unsafe calls are refused while capturing; other models keep running.
  if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    cudaGetLastError();
    return launch_all();
  }
  const cudaError_t launched = launch_all();
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  cudaGraphExec_t exec = nullptr;
  cudaError_t made = launched == cudaSuccess && ended == cudaSuccess ? cudaGraphInstantiate(&exec, graph, 0) : cudaErrorStreamCaptureInvalidated;
  if (graph) cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    cudaGetLastError();
    return launch_all();  // whatever broke the capture reports itself here, outside it
  }
  reset_exec();
  exec_ = exec;
  captured_.assign(ops, ops + n);
  return cudaGraphLaunch(exec_, stream);
}

void GraphCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  reset_exec();
  seen_.clear();
}

}  // namespace qinfer::cuda
