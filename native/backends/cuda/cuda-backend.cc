// The qinfer-cuda module's vtable: driver checks at init, device buffers, and op dispatch to the kernels.
#include "cuda-backend.h"

#include <dlfcn.h>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "backends/module-common.h"
#include "cuda-fuse.h"
#include "cuda-graph-cache.h"
#include "cuda-graph-ops.h"
#include "cuda-kernels.h"

struct qinfer_buffer {
  void *ptr;
  uint64_t size;
  int device;
};

namespace qinfer::cuda {
namespace {

using module::fail;

// Driver entry points looked up by hand: the module must load, and say why, without a driver.
using cu_init_fn = int (*)(unsigned);
using cu_driver_get_version_fn = int (*)(int *);
using cu_get_error_name_fn = int (*)(int, const char **);

struct State {
  std::mutex mu;
  bool initialized = false;
  int init_status = 1;
  std::string init_reason;
  void *libcuda = nullptr;
  int driver_version = 0;
  int device_count = 0;
  std::vector<cudaStream_t> streams;  // one per device, made on first use
  std::vector<std::unique_ptr<GraphCache>> graphs;  // one per device
};

// Never destroyed: at exit, the driver's own teardown may already have run, and destroying devices
// or streams after it crashed the process on the H100 (shutdown() is the orderly way).
State &state() {
  static State *s = new State;
  return *s;
}

std::string cuda_error_text(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

int status_of(cudaError_t e) { return e == cudaErrorMemoryAllocation ? QINFER_E_OUT_OF_MEMORY : QINFER_E_INTERNAL; }

int fail_cuda(cudaError_t e, const std::string &what) {
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  return fail(status_of(e), what + ": " + cuda_error_text(e));
}

// Why the driver cannot be used, or "" when it can. Runs once per process.
std::string open_driver(State &s) {
  s.libcuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!s.libcuda) return "libcuda.so.1 not found (no NVIDIA driver)";
  auto cu_init = reinterpret_cast<cu_init_fn>(dlsym(s.libcuda, "cuInit"));
  auto cu_version = reinterpret_cast<cu_driver_get_version_fn>(dlsym(s.libcuda, "cuDriverGetVersion"));
  auto cu_error_name = reinterpret_cast<cu_get_error_name_fn>(dlsym(s.libcuda, "cuGetErrorName"));
  if (!cu_init || !cu_version) return "libcuda.so.1 lacks cuInit/cuDriverGetVersion: the NVIDIA driver installation is broken";
  if (int r = cu_init(0)) {
    const char *name = nullptr;
    if (cu_error_name) cu_error_name(r, &name);
    if (r == 100) return "the NVIDIA driver found no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)";
    return "cuInit failed: " + std::string(name ? name : "error") + " (" + std::to_string(r) + ")";
  }
  cu_version(&s.driver_version);
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaErrorInsufficientDriver)
    return "the NVIDIA driver supports CUDA " + version_text(s.driver_version) + " but qinfer-cuda needs CUDA " +
           version_text(CUDART_VERSION) + ": update the NVIDIA driver";
  if (e != cudaSuccess) return "cudaGetDeviceCount failed: " + cuda_error_text(e);
  if (n == 0) return "no CUDA device";
  // A device the module has no code for would fail at the first launch: say so now.
  for (int d = 0; d < n; d++) {
    if (cudaSetDevice(d) == cudaSuccess && kernels_loadable() == cudaSuccess) {
      s.device_count = n;
      s.streams.assign(n, nullptr);
      for (int k = 0; k < n; k++) s.graphs.push_back(std::make_unique<GraphCache>());
      return "";
    }
  }
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  cudaGetLastError();
  return "qinfer-cuda was built for CUDA architectures " QINFER_CUDA_ARCHS_TEXT " but the GPU is compute capability " +
         std::to_string(major) + "." + std::to_string(minor) + ": rebuild with QINFER_CUDA_ARCHS=" + std::to_string(major) +
         std::to_string(minor);
}

int cuda_init(char *reason, size_t reason_len) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.initialized) {
    s.init_reason = open_driver(s);
    s.init_status = s.init_reason.empty() ? 0 : 1;
    s.initialized = true;
  }
  if (s.init_status) module::write_reason(reason, reason_len, "%s", s.init_reason.c_str());
  return s.init_status;
}

int cuda_device_count() { return state().device_count; }

bool valid_device(int device) { return device >= 0 && device < state().device_count; }

// Selects `device` and returns its stream, creating it on first use.
int use_device(int device, cudaStream_t *stream) {
  State &s = state();
  if (!valid_device(device)) return fail(QINFER_E_INVALID_ARGUMENT, "no CUDA device " + std::to_string(device));
  if (cudaError_t e = cudaSetDevice(device)) return fail_cuda(e, "cudaSetDevice");
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.streams[device]) {
    if (cudaError_t e = cudaStreamCreateWithFlags(&s.streams[device], cudaStreamNonBlocking)) return fail_cuda(e, "cudaStreamCreate");
  }
  *stream = s.streams[device];
  return QINFER_OK;
}

qinfer_buffer *cuda_buffer_alloc(int device, uint64_t bytes) {
  cudaStream_t stream;
  if (use_device(device, &stream)) return nullptr;
  void *ptr = nullptr;
  // Zero-byte buffers still get a distinct allocation so every buffer has a valid pointer.
  if (cudaError_t e = cudaMalloc(&ptr, bytes ? bytes : 256)) {
    size_t free_b = 0, total_b = 0;
    cudaGetLastError();
    cudaMemGetInfo(&free_b, &total_b);
    fail_cuda(e, "cannot allocate " + std::to_string(bytes) + " bytes on CUDA device " + std::to_string(device) + " (" +
                     std::to_string(free_b) + " of " + std::to_string(total_b) + " bytes free)");
    return nullptr;
  }
  auto *b = new (std::nothrow) qinfer_buffer{ptr, bytes, device};
  if (!b) {
    cudaFree(ptr);
    fail(QINFER_E_OUT_OF_MEMORY, "out of host memory");
  }
  return b;
}

void cuda_buffer_free(qinfer_buffer *b) {
  if (!b) return;
  state().graphs[b->device]->clear();
  cudaSetDevice(b->device);
  cudaFree(b->ptr);
  delete b;
}

// Copies on the device's stream and waits: the caller's host memory may go away on return.
int copy(qinfer_buffer *b, uint64_t offset, void *dst, const void *src, uint64_t bytes, cudaMemcpyKind kind) {
  if (!b || !module::fits(b->size, offset, bytes)) return fail(QINFER_E_INVALID_ARGUMENT, "buffer copy out of bounds");
  cudaStream_t stream;
  if (int st = use_device(b->device, &stream)) return st;
  if (cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, stream)) return fail_cuda(e, "cudaMemcpyAsync");
  if (cudaError_t e = cudaStreamSynchronize(stream)) return fail_cuda(e, "cudaStreamSynchronize");
  return QINFER_OK;
}

int cuda_buffer_write(qinfer_buffer *b, uint64_t offset, const void *src, uint64_t bytes) {
  return copy(b, offset, b ? static_cast<uint8_t *>(b->ptr) + offset : nullptr, src, bytes, cudaMemcpyHostToDevice);
}

int cuda_buffer_read(qinfer_buffer *b, uint64_t offset, void *dst, uint64_t bytes) {
  return copy(b, offset, dst, b ? static_cast<uint8_t *>(b->ptr) + offset : nullptr, bytes, cudaMemcpyDeviceToHost);
}

int cuda_supports_op(int, int32_t op, int32_t type) {
  switch (op) {
    case QINFER_OP_ADD_F32:
    case QINFER_OP_RMS_NORM:
    case QINFER_OP_ROPE:
    case QINFER_OP_SOFTMAX:
    case QINFER_OP_SILU_MUL:
    case QINFER_OP_ARGMAX: return 1;
    case QINFER_OP_MATVEC:
    case QINFER_OP_MATMUL:
    case QINFER_OP_GET_ROWS: return matmul_supported(type);
    case QINFER_OP_ATTENTION: return attention_supported(type);
    case QINFER_OP_KV_STORE: return kv_store_supported(type);
    case QINFER_OP_ADD_ROWS:
    case QINFER_OP_COPY: return 1;
    default: return 0;
  }
}

uint8_t *bytes(qinfer_buffer *b, uint64_t offset) { return b ? static_cast<uint8_t *>(b->ptr) + offset : nullptr; }
float *f32(qinfer_buffer *b, uint64_t offset) { return reinterpret_cast<float *>(bytes(b, offset)); }
int32_t *i32(qinfer_buffer *b, uint64_t offset) { return reinterpret_cast<int32_t *>(bytes(b, offset)); }

cudaError_t launch(const qinfer_op &op, cudaStream_t stream) {
  auto src = [&](int i) { return bytes(op.src[i], op.src_offset[i]); };
  auto srcf = [&](int i) { return f32(op.src[i], op.src_offset[i]); };
  auto srci = [&](int i) { return i32(op.src[i], op.src_offset[i]); };
  float *dst = f32(op.dst, op.dst_offset);
  const int64_t *ne = op.ne;
  switch (op.op) {
    case QINFER_OP_ADD_F32: return launch_add_f32(srcf(0), srcf(1), dst, ne[0], stream);
    case QINFER_OP_MATVEC: return launch_matmul(op.type, src(0), srcf(1), dst, ne[1], ne[0], 1, stream);
    case QINFER_OP_MATMUL: return launch_matmul(op.type, src(0), srcf(1), dst, ne[1], ne[0], ne[2], stream);
    case QINFER_OP_GET_ROWS: return launch_get_rows(op.type, src(0), ne[1], ne[0], srci(1), ne[2], dst, stream);
    case QINFER_OP_RMS_NORM: return launch_rms_norm(srcf(0), srcf(1), dst, ne[1], ne[0], op.params[0], stream);
    case QINFER_OP_ROPE:
      return launch_rope(srcf(0), srci(1), srcf(2), dst, ne[2], ne[1], ne[0], ne[3],
                         RopeArgs{op.params[0], op.params[1], op.params[2] != 0, op.params[3], op.params[4], op.params[5], op.params[6]}, stream);
    case QINFER_OP_SOFTMAX: return launch_softmax(srcf(0), dst, ne[1], ne[0], stream);
    case QINFER_OP_SILU_MUL: return launch_silu_mul(srcf(0), srcf(1), dst, ne[0], stream);
    case QINFER_OP_ARGMAX: return launch_argmax(srcf(0), i32(op.dst, op.dst_offset), ne[1], ne[0], stream);
    case QINFER_OP_ATTENTION: {
      const int64_t stride = int64_t(op.params[1]);
      const uint64_t row = module::row_bytes(op.type, ne[0]);
      return launch_attention(op.type, srcf(0), src(1), src(2), srci(3), dst, ne[2], ne[1], ne[3], ne[0], stride, row, op.params[0], stream);
    }
    case QINFER_OP_KV_STORE:
      return launch_kv_store(op.type, srcf(0), srci(1), bytes(op.dst, op.dst_offset), ne[2], ne[1], ne[0], ne[3],
                             module::row_bytes(op.type, ne[0]), stream);
    case QINFER_OP_ADD_ROWS: return launch_add_rows(srcf(0), srcf(1), dst, ne[1], ne[0], stream);
    case QINFER_OP_COPY: return launch_copy_rows(src(0), bytes(op.dst, op.dst_offset), ne[1], ne[0], ne[2], ne[3], stream);
    default: return cudaErrorNotSupported;
  }
}

int cuda_compute(int device, const qinfer_op *ops, int n_ops) {
  cudaStream_t stream;
  if (int st = use_device(device, &stream)) return st;
  GraphCache &graphs = *state().graphs[device];
  cudaError_t replayed = cudaSuccess;
  if (graphs.replay(ops, n_ops, stream, &replayed)) return replayed ? fail_cuda(replayed, "cudaGraphLaunch") : QINFER_OK;
  for (int i = 0; i < n_ops; i++) {
    const qinfer_op &op = ops[i];
    if (!cuda_supports_op(device, op.op, op.type))
      return fail(QINFER_E_UNSUPPORTED, "op " + std::to_string(op.op) + " with type " + std::to_string(op.type) +
                                            " is not implemented by the CUDA backend");
    std::string bad = module::op_bounds_error(op, [](qinfer_buffer *b) { return b->size; });
    if (!bad.empty()) return fail(QINFER_E_INVALID_ARGUMENT, bad);
    for (qinfer_buffer *b : {op.src[0], op.src[1], op.src[2], op.src[3], op.dst})
      if (b && b->device != device) return fail(QINFER_E_INVALID_ARGUMENT, "an operand lives on another CUDA device");
    const bool weighted = op.op == QINFER_OP_MATVEC || op.op == QINFER_OP_MATMUL || op.op == QINFER_OP_GET_ROWS;
    if (weighted && op.src_offset[0] % 4)  // the decoders read whole 16- and 32-bit words of the blocks
      return fail(QINFER_E_INVALID_ARGUMENT, "CUDA weights must start at a multiple of 4 bytes in their buffer");
    if (op.op == QINFER_OP_ATTENTION && op.ne[0] > kAttentionMaxHeadDim)
      return fail(QINFER_E_UNSUPPORTED, "CUDA attention handles head sizes up to " + std::to_string(kAttentionMaxHeadDim) + ", not " +
                                            std::to_string(op.ne[0]));
  }
  cudaError_t e = graphs.run(ops, n_ops, stream, [&] {
    for (int i = 0; i < n_ops;) {
      cudaError_t fe = cudaSuccess;
      if (const int used = launch_fused(ops, n_ops, i, stream, &fe)) {
        if (fe) return fe;
        i += used;
        continue;
      }
      if (cudaError_t le = launch(ops[i], stream)) return le;
      i++;
    }
    return cudaSuccess;
  });
  return e ? fail_cuda(e, "kernel launch") : QINFER_OK;
}

int cuda_synchronize(int device) {
  cudaStream_t stream;
  if (int st = use_device(device, &stream)) return st;
  if (cudaError_t e = cudaStreamSynchronize(stream)) return fail_cuda(e, "cudaStreamSynchronize");
  return QINFER_OK;
}

const char *cuda_last_error() { return module::last_error().c_str(); }

void cuda_shutdown() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  for (size_t d = 0; d < s.streams.size(); d++) {
    if (!s.streams[d]) continue;
    cudaSetDevice(int(d));
    cudaStreamDestroy(s.streams[d]);
    s.streams[d] = nullptr;
  }
}

const qinfer_backend vtable = {
    QINFER_BACKEND_ABI_VERSION, "cuda", cuda_init, backend_info, cuda_device_count, device_info,
    cuda_buffer_alloc, cuda_buffer_free, cuda_buffer_write, cuda_buffer_read, cuda_supports_op, cuda_compute,
    cuda_synchronize, cuda_last_error, cuda_shutdown,
};

}  // namespace

int driver_version() { return state().driver_version; }

}  // namespace qinfer::cuda

extern "C" __attribute__((visibility("default"))) const qinfer_backend *qinfer_backend_register(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &qinfer::cuda::vtable;
}
