// ggufRead(path): parses a GGUF file on a worker thread and returns its metadata and tensor infos as JS values.
#include <memory>

#include "core/gguf.h"
#include "exports.h"
#include "promise-worker.h"
#include "qinfer/ggml-types.h"
#include "tensor-js.h"

namespace qinfer::napi {
namespace {

template <typename Typed>
Napi::Value typed_array(Napi::Env env, const std::vector<uint8_t> &raw, uint64_t count) {
  auto buf = Napi::ArrayBuffer::New(env, raw.size());
  if (!raw.empty()) std::memcpy(buf.Data(), raw.data(), raw.size());
  return Typed::New(env, size_t(count), buf, 0);
}

Napi::Value array_value(Napi::Env env, const GgufValue &v) {
  switch (v.elem_type) {
    case GgufType::U8: return typed_array<Napi::Uint8Array>(env, v.raw, v.count);
    case GgufType::I8: return typed_array<Napi::Int8Array>(env, v.raw, v.count);
    case GgufType::U16: return typed_array<Napi::Uint16Array>(env, v.raw, v.count);
    case GgufType::I16: return typed_array<Napi::Int16Array>(env, v.raw, v.count);
    case GgufType::U32: return typed_array<Napi::Uint32Array>(env, v.raw, v.count);
    case GgufType::I32: return typed_array<Napi::Int32Array>(env, v.raw, v.count);
    case GgufType::F32: return typed_array<Napi::Float32Array>(env, v.raw, v.count);
    case GgufType::F64: return typed_array<Napi::Float64Array>(env, v.raw, v.count);
    case GgufType::U64: return typed_array<Napi::TypedArrayOf<uint64_t>>(env, v.raw, v.count);
    case GgufType::I64: return typed_array<Napi::TypedArrayOf<int64_t>>(env, v.raw, v.count);
    case GgufType::BOOL: {
      Napi::Array a = Napi::Array::New(env, v.raw.size());
      for (size_t k = 0; k < v.raw.size(); k++) a.Set(uint32_t(k), Napi::Boolean::New(env, v.raw[k] != 0));
      return a;
    }
    case GgufType::STRING: {
      Napi::Array a = Napi::Array::New(env, v.strings.size());
      for (size_t k = 0; k < v.strings.size(); k++) a.Set(uint32_t(k), Napi::String::New(env, v.strings[k]));
      return a;
    }
    case GgufType::ARRAY: {
      Napi::Array a = Napi::Array::New(env, v.items.size());
      for (size_t k = 0; k < v.items.size(); k++) a.Set(uint32_t(k), array_value(env, v.items[k]));
      return a;
    }
  }
  return env.Undefined();
}

Napi::Value scalar_value(Napi::Env env, const GgufValue &v) {
  switch (v.type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: return Napi::Number::New(env, double(v.u));
    case GgufType::I8: case GgufType::I16: case GgufType::I32: return Napi::Number::New(env, double(v.i));
    case GgufType::F32: case GgufType::F64: return Napi::Number::New(env, v.f);
    case GgufType::U64: return Napi::BigInt::New(env, v.u);
    case GgufType::I64: return Napi::BigInt::New(env, v.i);
    case GgufType::BOOL: return Napi::Boolean::New(env, v.u != 0);
    case GgufType::STRING: return Napi::String::New(env, v.str);
    case GgufType::ARRAY: return array_value(env, v);
  }
  return env.Undefined();
}

Napi::Object to_js(Napi::Env env, const GgufContents &g) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", g.version);
  out.Set("alignment", g.alignment);
  out.Set("dataOffset", double(g.data_offset));
  out.Set("fileSize", double(g.file_size));
  Napi::Array md = Napi::Array::New(env, g.metadata.size());
  for (size_t k = 0; k < g.metadata.size(); k++) {
    const GgufKv &kv = g.metadata[k];
    Napi::Object o = Napi::Object::New(env);
    o.Set("key", kv.key);
    o.Set("type", gguf_type_name(kv.value.type));
    o.Set("value", scalar_value(env, kv.value));
    if (kv.value.type == GgufType::ARRAY) o.Set("arrayType", gguf_type_name(kv.value.elem_type));
    md.Set(uint32_t(k), o);
  }
  out.Set("metadata", md);
  Napi::Array ts = Napi::Array::New(env, g.tensors.size());
  for (size_t k = 0; k < g.tensors.size(); k++) {
    const GgufTensorInfo &t = g.tensors[k];
    Napi::Object o = tensor_object(env, t.name, t.ne, t.n_dims, t.offset, t.bytes);
    o.Set("type", t.type);
    o.Set("typeName", qinfer_type_traits_of(t.type)->name);
    ts.Set(uint32_t(k), o);
  }
  out.Set("tensors", ts);
  return out;
}

class ReadWorker : public PromiseWorker<Napi::AsyncWorker> {
 public:
  ReadWorker(Napi::Env env, std::string path) : PromiseWorker(env, "qinfer:ggufRead"), path_(std::move(path)) {}

  void Execute() override {
    run([&] { file_ = GgufFile::open(path_, abort_flag()); });
  }

  void OnOK() override {
    resolve_with([&] { return to_js(Env(), file_->contents()); });
  }

 private:
  std::string path_;
  std::shared_ptr<GgufFile> file_;
};

// ggufRead(path) -> {promise, abort}
Napi::Value gguf_read(const Napi::CallbackInfo &info) {
  auto *w = new ReadWorker(info.Env(), info[0].As<Napi::String>().Utf8Value());
  return w->start();
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("ggufRead", Napi::Function::New(env, gguf_read)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
