// Keeps references to the JS error classes and constructs them, so native throws carry the JS stack.
#include "errors.h"

#include "exports.h"

namespace qinfer::napi {
namespace {

Napi::FunctionReference &class_for(qinfer_status status) {
  static Napi::FunctionReference refs[16];
  return refs[unsigned(status) < 16 ? unsigned(status) : unsigned(QINFER_E_INTERNAL)];
}

// setErrorClasses({E_BAD_FILE: BadFileError, ...}): called once by lib/binding.ts.
Napi::Value set_error_classes(const Napi::CallbackInfo &info) {
  Napi::Object classes = info[0].As<Napi::Object>();
  for (int s = 1; s < 16; s++) {
    const char *code = status_code_name(qinfer_status(s));
    if (!classes.Has(code)) continue;
    Napi::Value v = classes.Get(code);
    if (v.IsFunction()) class_for(qinfer_status(s)) = Napi::Persistent(v.As<Napi::Function>());
  }
  return info.Env().Undefined();
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClasses", Napi::Function::New(env, set_error_classes));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace

const char *status_code_name(qinfer_status status) {
  switch (status) {
    case QINFER_E_BAD_FILE: return "E_BAD_FILE";
    case QINFER_E_UNSUPPORTED: return "E_UNSUPPORTED";
    case QINFER_E_BACKEND_UNAVAILABLE: return "E_BACKEND_UNAVAILABLE";
    case QINFER_E_OUT_OF_MEMORY: return "E_OUT_OF_MEMORY";
    case QINFER_E_ABORTED: return "E_ABORTED";
    case QINFER_E_INVALID_ARGUMENT: return "E_INVALID_ARGUMENT";
    case QINFER_E_IO: return "E_IO";
    case QINFER_E_CONTEXT_OVERFLOW: return "E_CONTEXT_OVERFLOW";
    default: return "E_INTERNAL";
  }
}

Napi::Error make_error(Napi::Env env, qinfer_status status, const std::string &message) {
  Napi::FunctionReference &ref = class_for(status);
  if (ref.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, message);
    e.Set("code", status_code_name(status));
    return e;
  }
  Napi::Object obj = ref.New({Napi::String::New(env, message)});
  return Napi::Error(env, obj);
}

}  // namespace qinfer::napi
