// ggufWrite(spec, onProgress?): converts the JS write spec (validating every metadata value against its
// declared type) and runs the streaming GGUF writer on a worker thread with throttled progress.
#include <cmath>
#include <memory>

#include "core/gguf-writer.h"
#include "exports.h"
#include "promise-worker.h"

namespace qinfer::napi {
namespace {

[[noreturn]] void invalid(const std::string &expected, const std::string &option, Napi::Value v) {
  std::string got = v.IsString() ? "a string" : v.IsNumber() ? "the number " + v.ToString().Utf8Value()
                  : v.IsBigInt() ? "a bigint" : v.IsBoolean() ? "a boolean" : v.IsTypedArray() ? "a typed array"
                  : v.IsArray() ? "an array" : v.IsUndefined() ? "undefined" : v.IsNull() ? "null" : "an object";
  throw Error(QINFER_E_INVALID_ARGUMENT, "Expected " + expected + " for option " + option + " but received " + got);
}

GgufType parse_type(Napi::Value v, const std::string &option) {
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    for (uint32_t t = 0; t < kGgufTypeCount; t++)
      if (s == gguf_type_name(GgufType(t))) return GgufType(t);
  }
  invalid("a GGUF value type (u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, string, array)", option, v);
}

// Integers within [lo, hi] from a number or a bigint; 64-bit values keep every bit through bigint.
void parse_integer(Napi::Value v, GgufType t, GgufValue &out, const std::string &option) {
  const bool is_signed = t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
  const int bits = int(gguf_type_size(t)) * 8;
  const std::string range = std::string(is_signed ? "a signed" : "an unsigned") + " " + std::to_string(bits) + "-bit integer";
  if (v.IsBigInt()) {
    bool lossless = false;
    if (is_signed) {
      int64_t x = v.As<Napi::BigInt>().Int64Value(&lossless);
      if (lossless && (bits == 64 || (x >= -(int64_t(1) << (bits - 1)) && x < (int64_t(1) << (bits - 1))))) {
        out.i = x;
        return;
      }
    } else {
      uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (lossless && (bits == 64 || x < (uint64_t(1) << bits))) {
        out.u = x;
        return;
      }
    }
  } else if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::floor(d) == d && std::fabs(d) <= 9007199254740992.0) {
      if (is_signed && (bits == 64 || (d >= -std::ldexp(1, bits - 1) && d < std::ldexp(1, bits - 1)))) {
        out.i = int64_t(d);
        return;
      }
      if (!is_signed && d >= 0 && (bits == 64 || d < std::ldexp(1, bits))) {
        out.u = uint64_t(d);
        return;
      }
    }
  }
  invalid(range, option, v);
}

void parse_array(Napi::Value v, GgufType elem, GgufValue &out, const std::string &option, int depth);

void parse_scalar(Napi::Value v, GgufType t, GgufValue &out, const std::string &option) {
  out.type = t;
  switch (t) {
    case GgufType::F32: case GgufType::F64:
      if (!v.IsNumber()) invalid("a number", option, v);
      out.f = v.As<Napi::Number>().DoubleValue();
      break;
    case GgufType::BOOL:
      if (!v.IsBoolean()) invalid("a boolean", option, v);
      out.u = v.As<Napi::Boolean>().Value();
      break;
    case GgufType::STRING:
      if (!v.IsString()) invalid("a string", option, v);
      out.str = v.As<Napi::String>().Utf8Value();
      break;
    case GgufType::ARRAY: invalid("an element type", option, v);
    default: parse_integer(v, t, out, option);
  }
}

// The element type a nested array value carries: typed arrays say it, plain arrays by their first item.
GgufType infer_elem_type(Napi::Value v, const std::string &option) {
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_uint8_array: return GgufType::U8;
      case napi_int8_array: return GgufType::I8;
      case napi_uint16_array: return GgufType::U16;
      case napi_int16_array: return GgufType::I16;
      case napi_uint32_array: return GgufType::U32;
      case napi_int32_array: return GgufType::I32;
      case napi_float32_array: return GgufType::F32;
      case napi_float64_array: return GgufType::F64;
      case napi_biguint64_array: return GgufType::U64;
      case napi_bigint64_array: return GgufType::I64;
      default: break;
    }
  } else if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() == 0) return GgufType::STRING;  // nothing to tell the type by: an empty string array
    Napi::Value first = a.Get(uint32_t(0));
    if (first.IsString()) return GgufType::STRING;
    if (first.IsBoolean()) return GgufType::BOOL;
    if (first.IsArray() || first.IsTypedArray()) return GgufType::ARRAY;
  }
  invalid("a typed array, or an array of strings, booleans or arrays", option, v);
}

void parse_array(Napi::Value v, GgufType elem, GgufValue &out, const std::string &option, int depth) {
  if (depth >= kGgufMaxArrayDepth) invalid("arrays nested at most 8 deep", option, v);
  out.type = GgufType::ARRAY;
  out.elem_type = elem;
  if (v.IsTypedArray() && gguf_type_size(elem) && elem != GgufType::BOOL) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (infer_elem_type(v, option) != elem) invalid(std::string("a typed array of ") + gguf_type_name(elem), option, v);
    out.count = ta.ElementLength();
    const uint8_t *p = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    out.raw.assign(p, p + ta.ByteLength());
    return;
  }
  if (!v.IsArray()) invalid(std::string("an array of ") + gguf_type_name(elem), option, v);
  Napi::Array a = v.As<Napi::Array>();
  out.count = a.Length();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value item = a.Get(k);
    const std::string at = option + "[" + std::to_string(k) + "]";
    if (elem == GgufType::STRING) {
      if (!item.IsString()) invalid("a string", at, item);
      out.strings.push_back(item.As<Napi::String>().Utf8Value());
    } else if (elem == GgufType::ARRAY) {
      GgufValue inner;
      parse_array(item, infer_elem_type(item, at), inner, at, depth + 1);
      out.items.push_back(std::move(inner));
    } else {
      GgufValue x;
      parse_scalar(item, elem, x, at);
      std::vector<uint8_t> tagged;
      append_gguf_value(tagged, x);  // 4-byte type tag, then the element's bytes
      out.raw.insert(out.raw.end(), tagged.begin() + 4, tagged.end());
    }
  }
}

GgufKv parse_kv(Napi::Value v, uint32_t index) {
  const std::string at = "metadata[" + std::to_string(index) + "]";
  if (!v.IsObject()) invalid("an object {key, type, value}", at, v);
  Napi::Object o = v.As<Napi::Object>();
  GgufKv kv;
  Napi::Value key = o.Get("key");
  if (!key.IsString() || key.As<Napi::String>().Utf8Value().empty()) invalid("a non-empty string", at + ".key", key);
  kv.key = key.As<Napi::String>().Utf8Value();
  const std::string option = "metadata \"" + kv.key + "\"";
  GgufType t = parse_type(o.Get("type"), option + " type");
  if (t == GgufType::ARRAY) parse_array(o.Get("value"), parse_type(o.Get("arrayType"), option + " arrayType"), kv.value, option, 0);
  else parse_scalar(o.Get("value"), t, kv.value, option);
  return kv;
}

uint64_t to_u64(Napi::Value v, const std::string &option) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && std::floor(d) == d && d <= 9007199254740992.0) return uint64_t(d);
  }
  invalid("a non-negative integer", option, v);
}

uint64_t get_u64(Napi::Object o, const char *key, const std::string &option) { return to_u64(o.Get(key), option + "." + key); }

class WriteWorker : public PromiseWorker<Napi::AsyncProgressWorker<GgufWriteProgress>> {
 public:
  WriteWorker(Napi::Env env, Napi::Object spec, Napi::Value on_progress) : PromiseWorker(env, "qinfer:ggufWrite") {
    if (on_progress.IsFunction()) progress_ = Napi::Persistent(on_progress.As<Napi::Function>());
    spec_.path = spec.Get("path").As<Napi::String>().Utf8Value();
    Napi::Value alignment = spec.Get("alignment");
    if (!alignment.IsUndefined()) {
      const uint64_t a = to_u64(alignment, "alignment");
      if (a == 0 || a > (uint64_t(1) << 31)) invalid("an integer from 1 to 2147483648", "alignment", alignment);
      spec_.alignment = uint32_t(a);
    }
    Napi::Array md = spec.Get("metadata").As<Napi::Array>();
    for (uint32_t k = 0; k < md.Length(); k++) spec_.metadata.push_back(parse_kv(md.Get(k), k));
    Napi::Array ts = spec.Get("tensors").As<Napi::Array>();
    for (uint32_t k = 0; k < ts.Length(); k++) spec_.tensors.push_back(parse_tensor(ts.Get(k), k));
  }

  void Execute(const ExecutionProgress &progress) override {
    run([&] {
      bytes_ = write_gguf(spec_, abort_flag(), [&](const GgufWriteProgress &p) { progress.Send(&p, 1); });
    });
  }

  void OnProgress(const GgufWriteProgress *p, size_t count) override {
    if (progress_.IsEmpty() || !count || failed_callback_) return;
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("tensorsDone", double(p->tensors_done));
    o.Set("tensorsTotal", double(p->tensors_total));
    o.Set("bytesDone", double(p->bytes_done));
    o.Set("bytesTotal", double(p->bytes_total));
    try {
      progress_.Call({o});
    } catch (const Napi::Error &e) {
      // The callback's own error wins over the abort it causes.
      failed_callback_ = true;
      callback_error_ = Napi::Persistent(e.Value());
      request_abort();
    }
  }

  void OnOK() override {
    if (failed_callback_) return reject(callback_error_.Value());
    resolve_with([&] { return Napi::Number::New(Env(), double(bytes_)); });
  }

  void OnError(const Napi::Error &e) override {
    if (failed_callback_) return reject(callback_error_.Value());
    PromiseWorker::OnError(e);
  }

 private:
  GgufWriteTensor parse_tensor(Napi::Value v, uint32_t index) {
    const std::string at = "tensors[" + std::to_string(index) + "]";
    if (!v.IsObject()) invalid("an object {name, type, shape, source}", at, v);
    Napi::Object o = v.As<Napi::Object>();
    GgufWriteTensor t;
    Napi::Value name = o.Get("name");
    if (!name.IsString()) invalid("a string", at + ".name", name);
    t.name = name.As<Napi::String>().Utf8Value();
    const uint64_t type = get_u64(o, "type", at);
    if (type > uint64_t(INT32_MAX)) invalid("a ggml type id", at + ".type", o.Get("type"));
    t.type = int32_t(type);
    Napi::Value shape = o.Get("shape");
    if (!shape.IsArray()) invalid("an array of dimensions", at + ".shape", shape);
    Napi::Array dims = shape.As<Napi::Array>();
    for (uint32_t d = 0; d < dims.Length(); d++) t.shape.push_back(to_u64(dims.Get(d), at + ".shape[" + std::to_string(d) + "]"));
    Napi::Value src = o.Get("source");
    if (!src.IsObject()) invalid("an object {kind: 'file' | 'data', ...}", at + ".source", src);
    Napi::Object s = src.As<Napi::Object>();
    std::string kind = s.Get("kind").IsString() ? s.Get("kind").As<Napi::String>().Utf8Value() : "";
    if (kind == "data") {
      Napi::Value data = s.Get("data");
      if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        invalid("a Uint8Array", at + ".source.data", data);
      Napi::Uint8Array bytes = data.As<Napi::Uint8Array>();
      t.source.kind = TensorSource::Kind::DATA;
      t.source.data = bytes.Data();
      t.source.size = bytes.ByteLength();
      keep_alive_.push_back(Napi::Persistent(data.As<Napi::Object>()));
    } else if (kind == "file") {
      t.source.kind = TensorSource::Kind::FILE;
      Napi::Value path = s.Get("path");
      if (!path.IsString()) invalid("a string", at + ".source.path", path);
      t.source.path = path.As<Napi::String>().Utf8Value();
      t.source.offset = get_u64(s, "offset", at + ".source");
      Napi::Value dtype = s.Get("dtype");
      std::string d = dtype.IsString() ? dtype.As<Napi::String>().Utf8Value() : "";
      if (d == "f32") t.source.dtype = SourceDtype::F32;
      else if (d == "f16") t.source.dtype = SourceDtype::F16;
      else if (d == "bf16") t.source.dtype = SourceDtype::BF16;
      else if (d == "raw") t.source.dtype = SourceDtype::RAW;
      else invalid("one of \"f32\", \"f16\", \"bf16\", \"raw\"", at + ".source.dtype", dtype);
      Napi::Value permute = s.Get("permuteRope");
      if (!permute.IsUndefined()) {
        if (!permute.IsObject()) invalid("an object {heads}", at + ".source.permuteRope", permute);
        uint64_t heads = get_u64(permute.As<Napi::Object>(), "heads", at + ".source.permuteRope");
        if (heads == 0 || heads > 1u << 20) invalid("a head count from 1", at + ".source.permuteRope.heads", permute.As<Napi::Object>().Get("heads"));
        t.source.permute_heads = uint32_t(heads);
      }
    } else {
      invalid("\"file\" or \"data\"", at + ".source.kind", s.Get("kind"));
    }
    return t;
  }

  GgufWriteSpec spec_;
  std::vector<Napi::ObjectReference> keep_alive_;
  Napi::FunctionReference progress_;
  Napi::ObjectReference callback_error_;
  bool failed_callback_ = false;
  uint64_t bytes_ = 0;
};

// ggufWrite(spec, onProgress?) -> {promise, abort}
Napi::Value gguf_write(const Napi::CallbackInfo &info) {
  return guarded(info.Env(), [&] {
    Napi::Value spec = info[0];
    if (!spec.IsObject()) invalid("an object", "spec", spec);
    auto *w = new WriteWorker(info.Env(), spec.As<Napi::Object>(), info[1]);
    return w->start();
  });
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("ggufWrite", Napi::Function::New(env, gguf_write)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
