// Model hyperparameters from the JS spec (lib/model-spec.ts read and checked them from GGUF metadata).
#pragma once

#include <napi.h>

#include "core/llama-model.h"

namespace qinfer::napi {

// Throws Error(E_INVALID_ARGUMENT) naming a missing field.
int32_t int_field(Napi::Object o, const char *key);
float float_field(Napi::Object o, const char *key);
LlamaHparams parse_hparams(Napi::Object o);

}  // namespace qinfer::napi
