// Replays a whole compute() call as one CUDA graph when the same op list comes again (a decode step: positions and
// lengths live in device buffers, so the list, and the graph, stay the same from token to token).
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include <cuda_runtime_api.h>

#include "qinfer/backend.h"

namespace qinfer::cuda {

class GraphCache {
 public:
  ~GraphCache();
  // Launches the graph captured from exactly these ops and returns true; false when there is none.
  bool replay(const qinfer_op *ops, int n, cudaStream_t stream, cudaError_t *err);
  // Runs `launch_all` (which enqueues every op on `stream`); when the same list came in the previous call too,
  // captures it into a graph first and launches that. Returns the first error.
  cudaError_t run(const qinfer_op *ops, int n, cudaStream_t stream, const std::function<cudaError_t()> &launch_all);
  // Forgets every graph: a freed buffer may come back at the same address with other device memory.
  void clear();

 private:
  static bool same(const std::vector<qinfer_op> &a, const qinfer_op *ops, int n);
  void reset_exec();

  std::mutex mu_;
  std::vector<qinfer_op> seen_, captured_;
  cudaGraphExec_t exec_ = nullptr;
};

// False when QINFER_CUDA_GRAPHS=0 (to compare with plain launches).
bool graphs_enabled();

}  // namespace qinfer::cuda
