// Backend ObjectWrap: one opened backend, with small synchronous ops used to check every backend against the CPU.
#include <memory>
#include <string>
#include <vector>

#include "core/backend-module.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

struct BufferDeleter {
  const qinfer_backend *vt;
  void operator()(qinfer_buffer *b) const { vt->buffer_free(b); }
};
using BufferPtr = std::unique_ptr<qinfer_buffer, BufferDeleter>;

class Backend : public Napi::ObjectWrap<Backend> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeBackend",
                       {InstanceMethod("addF32", &Backend::add_f32), InstanceMethod("matvec", &Backend::matvec),
                        InstanceMethod("supportsOp", &Backend::supports_op),
                        InstanceMethod("run", &Backend::run)});
  }

  explicit Backend(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Backend>(info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    BackendModule m = open_backend(name, info.Length() > 1 && info[1].IsString() ? std::string(info[1].As<Napi::String>()) : std::string());
    if (!m.available()) throw make_error(env, QINFER_E_BACKEND_UNAVAILABLE, "backend " + name + " is unavailable: " + m.reason);
    vt_ = m.vtable;
  }

 private:
  const qinfer_backend *vt_ = nullptr;

  void check(Napi::Env env, int status) {
    if (status != 0) throw make_error(env, qinfer_status(status), vt_->last_error());
  }

  BufferPtr upload(Napi::Env env, const void *data, uint64_t bytes) {
    BufferPtr b(vt_->buffer_alloc(0, bytes), BufferDeleter{vt_});
    if (!b) throw make_error(env, QINFER_E_OUT_OF_MEMORY, vt_->last_error());
    if (data) check(env, vt_->buffer_write(b.get(), 0, data, bytes));
    return b;
  }

  Napi::Value run_and_read(Napi::Env env, qinfer_op &op, qinfer_buffer *dst, uint64_t n_out) {
    check(env, vt_->compute(0, &op, 1));
    check(env, vt_->synchronize(0));
    Napi::Float32Array out = Napi::Float32Array::New(env, n_out);
    check(env, vt_->buffer_read(dst, 0, out.Data(), n_out * 4));
    return out;
  }

  Napi::Value add_f32(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto a = info[0].As<Napi::Float32Array>(), b = info[1].As<Napi::Float32Array>();
    if (a.ElementLength() != b.ElementLength()) throw make_error(env, QINFER_E_INVALID_ARGUMENT, "addF32: lengths differ");
    uint64_t n = a.ElementLength();
    BufferPtr ba = upload(env, a.Data(), n * 4), bb = upload(env, b.Data(), n * 4), bd = upload(env, nullptr, n * 4);
    qinfer_op op{};
    op.op = QINFER_OP_ADD_F32;
    op.src[0] = ba.get();
    op.src[1] = bb.get();
    op.dst = bd.get();
    op.ne[0] = int64_t(n);
    return run_and_read(env, op, bd.get(), n);
  }

  // matvec(type, weights: Uint8Array, rows, cols, x: Float32Array)
  Napi::Value matvec(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int32_t type = info[0].As<Napi::Number>().Int32Value();
    auto w = info[1].As<Napi::Uint8Array>();
    int64_t rows = info[2].As<Napi::Number>().Int64Value(), cols = info[3].As<Napi::Number>().Int64Value();
    auto x = info[4].As<Napi::Float32Array>();
    if (rows <= 0 || cols <= 0 || int64_t(x.ElementLength()) != cols)
      throw make_error(env, QINFER_E_INVALID_ARGUMENT, "matvec: x must have `cols` elements and the shape must be positive");
    BufferPtr bw = upload(env, w.Data(), w.ByteLength()), bx = upload(env, x.Data(), uint64_t(cols) * 4),
              bd = upload(env, nullptr, uint64_t(rows) * 4);
    qinfer_op op{};
    op.op = QINFER_OP_MATVEC;
    op.type = type;
    op.src[0] = bw.get();
    op.src[1] = bx.get();
    op.dst = bd.get();
    op.ne[0] = cols;
    op.ne[1] = rows;
    return run_and_read(env, op, bd.get(), uint64_t(rows));
  }

  // run(op, type, sources: (TypedArray | null)[] up to 4, dstBytes, ne[4], params[8]) -> Uint8Array:
  // any ABI op with each source uploaded to its own buffer at offset 0.
  Napi::Value run(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    qinfer_op op{};
    op.op = info[0].As<Napi::Number>().Int32Value();
    op.type = info[1].As<Napi::Number>().Int32Value();
    Napi::Array sources = info[2].As<Napi::Array>();
    if (sources.Length() > 4) throw make_error(env, QINFER_E_INVALID_ARGUMENT, "run: at most 4 sources");
    std::vector<BufferPtr> held;
    for (uint32_t i = 0; i < sources.Length(); i++) {
      Napi::Value v = sources.Get(i);
      if (!v.IsTypedArray()) continue;
      Napi::TypedArray a = v.As<Napi::TypedArray>();
      const uint8_t *data = static_cast<const uint8_t *>(a.ArrayBuffer().Data()) + a.ByteOffset();
      held.push_back(upload(env, data, a.ByteLength()));
      op.src[i] = held.back().get();
    }
    uint64_t dst_bytes = uint64_t(info[3].As<Napi::Number>().Int64Value());
    BufferPtr dst = upload(env, nullptr, dst_bytes);
    op.dst = dst.get();
    Napi::Array ne = info[4].As<Napi::Array>(), params = info[5].As<Napi::Array>();
    for (uint32_t i = 0; i < 4 && i < ne.Length(); i++) op.ne[i] = ne.Get(i).As<Napi::Number>().Int64Value();
    for (uint32_t i = 0; i < 8 && i < params.Length(); i++) op.params[i] = params.Get(i).As<Napi::Number>().FloatValue();
    check(env, vt_->compute(0, &op, 1));
    check(env, vt_->synchronize(0));
    Napi::Uint8Array out = Napi::Uint8Array::New(env, dst_bytes);
    check(env, vt_->buffer_read(dst.get(), 0, out.Data(), dst_bytes));
    return out;
  }

  Napi::Value supports_op(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), vt_->supports_op(0, info[0].As<Napi::Number>().Int32Value(),
                                                           info[1].As<Napi::Number>().Int32Value()) != 0);
  }
};

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("NativeBackend", Backend::define(env)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
