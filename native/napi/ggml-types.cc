// ggmlTypes(): the ggml type table for TS (names, block geometry), so TS never keeps its own copy.
#include <vector>

#include "exports.h"
#include "qinfer/ggml-types.h"

namespace qinfer::napi {
namespace {

Napi::Value ggml_types(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  std::vector<int32_t> ids;
  for (int32_t slot = 0; slot < QINFER_TYPE_SLOT_COUNT; slot++) ids.push_back(qinfer_slot_type(slot));
  ids.push_back(QINFER_TYPE_W8A8);
  for (int32_t id : ids) {
    const qinfer_type_traits *t = qinfer_type_traits_of(id);
    if (!t) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", id);
    o.Set("name", t->name);
    o.Set("blockSize", t->block_size);
    o.Set("typeSize", t->type_size);
    out.Set(n++, o);
  }
  return out;
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("ggmlTypes", Napi::Function::New(env, ggml_types)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
