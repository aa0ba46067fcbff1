// The CPU backend behind the same C vtable as the GPU modules, so one test harness drives every backend.
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "core/backend-module.h"
#include "core/cpu-info.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "cpu-buffer.h"
#include "isa.h"
#include "kernels.h"
#include "matmul.h"


namespace qinfer {
namespace {

thread_local std::string last_error_message;

int fail(qinfer_status s, const std::string &msg) {
  last_error_message = msg;
  return s;
}

int cpu_init(char *reason, size_t reason_len) {
  try {
    cpu::isa_active();
    return 0;
  } catch (const Error &e) {
    std::snprintf(reason, reason_len, "%s", e.what());
    return 1;
  }
}

int cpu_backend_info(char *json, size_t len) {
  std::snprintf(json, len, "{\"isa\":\"%s\"}", cpu::isa_name(cpu::isa_active()));
  return 0;
}

int cpu_device_count() { return 1; }

int cpu_device_info(int device, qinfer_device_info *out) {
  if (device != 0) return fail(QINFER_E_INVALID_ARGUMENT, "the CPU backend has one device (0)");
  const CpuInfo &ci = cpu_info();
  std::memset(out, 0, sizeof *out);
  std::snprintf(out->name, sizeof out->name, "%s", ci.model.empty() ? "CPU" : ci.model.c_str());
  out->memory_total = ci.memory_bytes;
  out->memory_free = ci.memory_bytes;
  std::snprintf(out->details_json, sizeof out->details_json, "{\"isa\":\"%s\",\"threads\":%d}",
                cpu::isa_name(cpu::isa_active()), ci.physical_cores);
  return 0;
}

qinfer_buffer *cpu_buffer_alloc(int, uint64_t bytes) {
  // 64-byte alignment serves every SIMD load; aligned_alloc wants a multiple of the alignment.
  uint64_t rounded = (bytes + 63) & ~uint64_t(63);
  void *p = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!p) {
    fail(QINFER_E_OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes of host memory");
    return nullptr;
  }
  auto *b = new (std::nothrow) qinfer_buffer{static_cast<uint8_t *>(p), bytes};
  if (!b) std::free(p);
  return b;
}

void cpu_buffer_free(qinfer_buffer *b) {
  if (!b) return;
  std::free(b->data);
  delete b;
}

bool in_bounds(const qinfer_buffer *b, uint64_t offset, uint64_t bytes) {
  return b && offset <= b->size && bytes <= b->size - offset;
}

int cpu_buffer_write(qinfer_buffer *b, uint64_t offset, const void *src, uint64_t bytes) {
  if (!in_bounds(b, offset, bytes)) return fail(QINFER_E_INVALID_ARGUMENT, "buffer write out of bounds");
  std::memcpy(b->data + offset, src, bytes);
  return 0;
}

int cpu_buffer_read(qinfer_buffer *b, uint64_t offset, void *dst, uint64_t bytes) {
  if (!in_bounds(b, offset, bytes)) return fail(QINFER_E_INVALID_ARGUMENT, "buffer read out of bounds");
  std::memcpy(dst, b->data + offset, bytes);
  return 0;
}

int cpu_supports_op(int, int32_t op, int32_t type) {
  if (op == QINFER_OP_ADD_F32) return 1;
  if (op == QINFER_OP_MATVEC || op == QINFER_OP_MATMUL) return cpu::matmul_supported(cpu::kernels(), type);
  if (op == QINFER_OP_GET_ROWS) return cpu::matmul_supported(cpu::kernels(), type);
  if (op == QINFER_OP_ATTENTION || op == QINFER_OP_KV_STORE) return type == QINFER_TYPE_F32 || type == QINFER_TYPE_F16 || type == QINFER_TYPE_Q8_0;
  return (op >= QINFER_OP_RMS_NORM && op <= QINFER_OP_ARGMAX) || op == QINFER_OP_ADD_ROWS || op == QINFER_OP_COPY;
}

int run_op(const cpu::Kernels &k, const qinfer_op &op) {
  auto ptr = [](qinfer_buffer *b, uint64_t off) { return reinterpret_cast<float *>(b->data + off); };
  switch (op.op) {
    case QINFER_OP_ADD_F32: {
      uint64_t bytes = uint64_t(op.ne[0]) * 4;
      if (op.ne[0] < 0 || !in_bounds(op.src[0], op.src_offset[0], bytes) || !in_bounds(op.src[1], op.src_offset[1], bytes) ||
          !in_bounds(op.dst, op.dst_offset, bytes))
        return fail(QINFER_E_INVALID_ARGUMENT, "add_f32: operand out of bounds");
      k.add_f32(ptr(op.src[0], op.src_offset[0]), ptr(op.src[1], op.src_offset[1]), ptr(op.dst, op.dst_offset), op.ne[0]);
      return 0;
    }
    case QINFER_OP_MATVEC: {
      int64_t cols = op.ne[0], rows = op.ne[1];
      if (cols < 0 || rows < 0) return fail(QINFER_E_INVALID_ARGUMENT, "matvec: negative shape");
      uint64_t row_bytes = cpu::type_row_bytes(op.type, cols);
      if (!in_bounds(op.src[0], op.src_offset[0], uint64_t(rows) * row_bytes) ||
          !in_bounds(op.src[1], op.src_offset[1], uint64_t(cols) * 4) || !in_bounds(op.dst, op.dst_offset, uint64_t(rows) * 4))
        return fail(QINFER_E_INVALID_ARGUMENT, "matvec: operand out of bounds");
      cpu::matmul(k, default_thread_pool(), op.type, op.src[0]->data + op.src_offset[0], rows, cols, ptr(op.src[1], op.src_offset[1]),
                  cols, 1, ptr(op.dst, op.dst_offset), rows);
      return 0;
    }
    default: cpu::run_model_op(k, op); return 0;
  }
}

int cpu_compute(int, const qinfer_op *ops, int n_ops) {
  try {
    const cpu::Kernels &k = cpu::kernels();
    for (int i = 0; i < n_ops; i++)
      if (int s = run_op(k, ops[i])) return s;
    return 0;
  } catch (const Error &e) {
    return fail(e.status(), e.what());
  }
}

int cpu_synchronize(int) { return 0; }
const char *cpu_last_error() { return last_error_message.c_str(); }
void cpu_shutdown() {}

const qinfer_backend cpu_vtable = {
    QINFER_BACKEND_ABI_VERSION, "cpu", cpu_init, cpu_backend_info, cpu_device_count, cpu_device_info,
    cpu_buffer_alloc, cpu_buffer_free, cpu_buffer_write, cpu_buffer_read, cpu_supports_op, cpu_compute,
    cpu_synchronize, cpu_last_error, cpu_shutdown,
};

}  // namespace

const qinfer_backend *cpu_backend() { return &cpu_vtable; }

}  // namespace qinfer
