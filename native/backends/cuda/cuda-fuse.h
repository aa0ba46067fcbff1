// Fusion of op sequences that a whole-model decode step submits (cuda-fuse.cc): fewer, fuller kernels with the
// same results as the ops one by one. QINFER_CUDA_FUSE=0 turns it off.
#pragma once

#include <cuda_runtime_api.h>

#include "qinfer/backend.h"

namespace qinfer::cuda {

// Launches ops[i] with as many of the ops after it as one fused kernel computes, and returns how many ops that
// launch covers; 0 when no fusion applies at i (nothing launched). *err receives the launch's error.
int launch_fused(const qinfer_op *ops, int n_ops, int i, cudaStream_t stream, cudaError_t *err);

}  // namespace qinfer::cuda
