// The CPU backend's implementation of the forward pass operations.
#pragma once

#include <memory>

#include "core/llama-ops.h"

namespace qinfer {

// threads: 0 = the default count.
std::unique_ptr<ModelOps> make_cpu_model_ops(int32_t threads);

}  // namespace qinfer
