// safetensorsRead(path): parses a safetensors header on a worker thread and returns its tensors as JS values.
#include "core/safetensors.h"
#include "exports.h"
#include "promise-worker.h"
#include "tensor-js.h"

namespace qinfer::napi {
namespace {

class ReadWorker : public PromiseWorker<Napi::AsyncWorker> {
 public:
  ReadWorker(Napi::Env env, std::string path) : PromiseWorker(env, "qinfer:safetensorsRead"), path_(std::move(path)) {}

  void Execute() override {
    run([&] { header_ = read_safetensors(path_); });
  }

  void OnOK() override {
    resolve_with([&] {
      Napi::Env env = Env();
      Napi::Object out = Napi::Object::New(env);
      out.Set("dataOffset", double(header_.data_offset));
      Napi::Object md = Napi::Object::New(env);
      for (const auto &kv : header_.metadata) md.Set(kv.first, kv.second);
      out.Set("metadata", md);
      Napi::Array ts = Napi::Array::New(env, header_.tensors.size());
      for (size_t k = 0; k < header_.tensors.size(); k++) {
        const SafetensorsTensor &t = header_.tensors[k];
        Napi::Object o = tensor_object(env, t.name, t.shape.data(), t.shape.size(), t.offset, t.bytes);
        o.Set("dtype", t.dtype);
        ts.Set(uint32_t(k), o);
      }
      out.Set("tensors", ts);
      return out;
    });
  }

 private:
  std::string path_;
  SafetensorsHeader header_;
};

// safetensorsRead(path) -> {promise, abort}
Napi::Value safetensors_read(const Napi::CallbackInfo &info) {
  auto *w = new ReadWorker(info.Env(), info[0].As<Napi::String>().Utf8Value());
  return w->start();
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("safetensorsRead", Napi::Function::New(env, safetensors_read));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
