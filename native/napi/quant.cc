// Format bindings for tests and the quantizer: the reference table, quantize/dequantize of rows (also
// asynchronous over the thread pool, for whole tensors) and the dot product against quantized activations.
#include <string>

#include "core/thread-pool.h"
#include "errors.h"
#include "exports.h"
#include "promise-worker.h"
#include "quant/rows.h"

namespace qinfer::napi {
namespace {

using quant::QuantTraits;

[[noreturn]] void bad(Napi::Env env, const std::string &message) {
  throw make_error(env, QINFER_E_INVALID_ARGUMENT, message);
}

const QuantTraits &traits_arg(const Napi::CallbackInfo &info) {
  if (!info[0].IsNumber()) bad(info.Env(), "Expected a ggml type id for argument type");
  return quant::require_traits(info[0].As<Napi::Number>().Int32Value());
}

Napi::Value quant_formats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (int slot = 0; slot < QINFER_TYPE_SLOT_COUNT; slot++) {
    const QuantTraits *t = quant::quant_traits(qinfer_slot_type(slot));
    if (!t) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", t->type);
    o.Set("name", t->name);
    o.Set("blockSize", t->block_size);
    o.Set("typeSize", t->type_size);
    o.Set("vecDotType", t->vec_dot ? Napi::Value(Napi::Number::New(env, t->vec_dot_type)) : env.Null());
    o.Set("weighted", t->quantize_weighted != nullptr);
    out.Set(out.Length(), o);
  }
  return out;
}

// Checked arguments of quantizeRows / quantizeRowsAsync: (type, x: Float32Array, cols, imatrix?).
struct QuantizeArgs {
  const QuantTraits *t;
  Napi::Float32Array x;
  int64_t cols, rows;
  Napi::Float32Array imatrix;  // empty when absent

  explicit QuantizeArgs(const Napi::CallbackInfo &info) : t(&traits_arg(info)) {
    Napi::Env env = info.Env();
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      bad(env, "Expected a Float32Array for argument x");
    x = info[1].As<Napi::Float32Array>();
    cols = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : -1;
    quant::check_row_length(*t, cols);
    if (int64_t(x.ElementLength()) % cols != 0)
      bad(env, "x has " + std::to_string(x.ElementLength()) + " elements, not a whole number of rows of " +
                   std::to_string(cols));
    rows = int64_t(x.ElementLength()) / cols;
    if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
      if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
          int64_t(info[3].As<Napi::Float32Array>().ElementLength()) != cols)
        bad(env, "Expected a Float32Array of " + std::to_string(cols) + " importances for argument imatrix");
      imatrix = info[3].As<Napi::Float32Array>();
    }
  }

  const float *imatrix_data() const { return imatrix.IsEmpty() ? nullptr : imatrix.Data(); }
  size_t out_bytes() const { return size_t(rows) * quant::row_bytes(*t, cols); }
};

// quantizeRows(type, x, cols, imatrix?) -> Uint8Array, on the calling thread (small inputs, tests).
Napi::Value quantize_rows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    QuantizeArgs a(info);
    Napi::Uint8Array out = Napi::Uint8Array::New(env, a.out_bytes());
    quant::quantize_rows(*a.t, a.x.Data(), a.rows, a.cols, a.imatrix_data(), out.Data());
    return out;
  });
}

// Whole tensors off the JS thread, rows split over the process thread pool.
class QuantizeWorker : public PromiseWorker<Napi::AsyncWorker> {
 public:
  QuantizeWorker(Napi::Env env, const QuantizeArgs &a)
      : PromiseWorker(env, "qinfer:quantizeRows"),
        t_(a.t),
        x_(a.x.Data()),
        imatrix_(a.imatrix_data()),
        rows_(a.rows),
        cols_(a.cols),
        x_ref_(Napi::Persistent(a.x)) {
    Napi::Uint8Array out = Napi::Uint8Array::New(env, a.out_bytes());
    out_ = out.Data();
    out_ref_ = Napi::Persistent(out);
    if (!a.imatrix.IsEmpty()) imatrix_ref_ = Napi::Persistent(a.imatrix);
  }

  void Execute() override {
    run([&] { quant::quantize_rows(*t_, x_, rows_, cols_, imatrix_, out_, &default_thread_pool(), abort_flag()); });
  }

  void OnOK() override {
    resolve_with([&]() -> Napi::Value { return out_ref_.Value(); });
  }

 private:
  const QuantTraits *t_;
  const float *x_, *imatrix_;
  int64_t rows_, cols_;
  uint8_t *out_ = nullptr;
  // The inputs and the output stay alive (and unmoved) while the worker threads use their memory.
  Napi::Reference<Napi::Float32Array> x_ref_, imatrix_ref_;
  Napi::Reference<Napi::Uint8Array> out_ref_;
};

// quantizeRowsAsync(type, x, cols, imatrix?) -> {promise: Promise<Uint8Array>, abort()}
Napi::Value quantize_rows_async(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    QuantizeArgs a(info);
    return (new QuantizeWorker(env, a))->start();
  });
}

const uint8_t *bytes_arg(const Napi::CallbackInfo &info, int i, const QuantTraits &t, int64_t n) {
  Napi::Env env = info.Env();
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    bad(env, "Expected a Uint8Array for argument bytes");
  auto b = info[i].As<Napi::Uint8Array>();
  quant::check_row_length(t, n);
  if (b.ByteLength() != quant::row_bytes(t, n))
    bad(env, std::to_string(n) + " elements of " + t.name + " take " + std::to_string(quant::row_bytes(t, n)) +
                 " bytes, got " + std::to_string(b.ByteLength()));
  return b.Data();
}

// dequantizeRows(type, bytes: Uint8Array, n) -> Float32Array of n elements
Napi::Value dequantize_rows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const QuantTraits &t = traits_arg(info);
    int64_t n = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : -1;
    const uint8_t *src = bytes_arg(info, 1, t, n);
    Napi::Float32Array out = Napi::Float32Array::New(env, size_t(n));
    t.dequantize(src, out.Data(), n);
    return out;
  });
}

// vecDot(type, bytes: Uint8Array, x: Float32Array) -> number, x quantized to the activation format first
Napi::Value vec_dot(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const QuantTraits &t = traits_arg(info);
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      bad(env, "Expected a Float32Array for argument x");
    auto x = info[2].As<Napi::Float32Array>();
    int64_t n = int64_t(x.ElementLength());
    const uint8_t *w = bytes_arg(info, 1, t, n);
    return Napi::Number::New(env, quant::vec_dot_f32(t, w, x.Data(), n));
  });
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("quantFormats", Napi::Function::New(env, quant_formats));
  exports.Set("quantizeRows", Napi::Function::New(env, quantize_rows));
  exports.Set("quantizeRowsAsync", Napi::Function::New(env, quantize_rows_async));
  exports.Set("dequantizeRows", Napi::Function::New(env, dequantize_rows));
  exports.Set("vecDot", Napi::Function::New(env, vec_dot));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
