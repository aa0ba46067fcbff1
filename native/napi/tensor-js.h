// The JS object describing one tensor of a model file, shared by the GGUF and safetensors readers.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace qinfer::napi {

// {name, shape, offset, bytes}; the caller adds the type fields.
inline Napi::Object tensor_object(Napi::Env env, const std::string &name, const uint64_t *dims, size_t n_dims, uint64_t offset,
                                  uint64_t bytes) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name);
  Napi::Array shape = Napi::Array::New(env, n_dims);
  for (size_t d = 0; d < n_dims; d++) shape.Set(uint32_t(d), double(dims[d]));
  o.Set("shape", shape);
  o.Set("offset", double(offset));
  o.Set("bytes", double(bytes));
  return o;
}

}  // namespace qinfer::napi
