// Synchronous access to the CPU kernels on small inputs, for the kernel tests (the active ISA level is read per call).
#include <cmath>
#include <limits>
#include <string>

#include "backends/cpu/isa.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/matmul.h"
#include "core/thread-pool.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

Napi::Value cpu_kernel_isa(const Napi::CallbackInfo &info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), cpu::isa_name(cpu::isa_active())); });
}

// Outputs start as NaN so that a kernel that skips an element cannot pass a test.
Napi::Float32Array poisoned(Napi::Env env, size_t n) {
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  for (size_t i = 0; i < n; i++) out[i] = std::numeric_limits<float>::quiet_NaN();
  return out;
}

// cpuMatmul(type, weights, rows, cols, x, nTokens) -> Float32Array of nTokens * rows (token-major).
Napi::Value cpu_matmul(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    int32_t type = info[0].As<Napi::Number>().Int32Value();
    auto w = info[1].As<Napi::Uint8Array>();
    int64_t rows = info[2].As<Napi::Number>().Int64Value(), cols = info[3].As<Napi::Number>().Int64Value();
    auto x = info[4].As<Napi::Float32Array>();
    int64_t nt = info[5].As<Napi::Number>().Int64Value();
    if (rows <= 0 || cols <= 0 || nt <= 0 || int64_t(x.ElementLength()) != cols * nt)
      throw Error(QINFER_E_INVALID_ARGUMENT, "cpuMatmul: x must hold nTokens * cols elements and the shape must be positive");
    if (w.ByteLength() != cpu::type_row_bytes(type, cols) * uint64_t(rows))
      throw Error(QINFER_E_INVALID_ARGUMENT, "cpuMatmul: weights must hold rows * row bytes");
    Napi::Float32Array y = poisoned(env, size_t(rows * nt));
    cpu::matmul(cpu::kernels(), default_thread_pool(), type, w.Data(), rows, cols, x.Data(), cols, nt, y.Data(), rows);
    return y;
  });
}

// cpuMatmulW8a8(weights (Int8Array rows * cols), scales (Float32Array rows), rows, cols, x, nTokens, actScale?) -> as
// cpuMatmul; actScale > 0 quantizes the tokens with that fixed scale (W8A8 static).
Napi::Value cpu_matmul_w8a8(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto w = info[0].As<Napi::Int8Array>();
    auto s = info[1].As<Napi::Float32Array>();
    int64_t rows = info[2].As<Napi::Number>().Int64Value(), cols = info[3].As<Napi::Number>().Int64Value();
    auto x = info[4].As<Napi::Float32Array>();
    int64_t nt = info[5].As<Napi::Number>().Int64Value();
    if (rows <= 0 || cols <= 0 || nt <= 0 || int64_t(x.ElementLength()) != cols * nt || int64_t(w.ElementLength()) != rows * cols ||
        int64_t(s.ElementLength()) != rows)
      throw Error(QINFER_E_INVALID_ARGUMENT, "cpuMatmulW8a8: weights, scales and x must hold rows * cols, rows and nTokens * cols elements");
    const float act_scale = info[6].IsNumber() ? info[6].As<Napi::Number>().FloatValue() : 0.0f;
    Napi::Float32Array y = poisoned(env, size_t(rows * nt));
    cpu::matmul_w8a8(cpu::kernels(), default_thread_pool(), w.Data(), s.Data(), rows, cols, x.Data(), cols, nt, y.Data(), rows, act_scale);
    return y;
  });
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuKernelIsa", Napi::Function::New(env, cpu_kernel_isa));
  exports.Set("cpuMatmulW8a8", Napi::Function::New(env, cpu_matmul_w8a8));
  exports.Set("cpuMatmul", Napi::Function::New(env, cpu_matmul));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
