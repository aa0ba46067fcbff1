// The CPU backend's buffer: host memory behind the opaque qinfer_buffer of the backend ABI.
#pragma once

#include <cstdint>

#include "qinfer/backend.h"

struct qinfer_buffer {
  uint8_t *data;
  uint64_t size;
};

namespace qinfer::cpu {

// Host pointer to `bytes` at `offset` of b, or a qinfer::Error naming `what` when out of bounds.
uint8_t *buffer_span(const qinfer_buffer *b, uint64_t offset, uint64_t bytes, const char *what);

// The forward-pass ops of the ABI (MATMUL and later); throws qinfer::Error on bad operands.
void run_model_op(const struct Kernels &k, const qinfer_op &op);

}  // namespace qinfer::cpu
