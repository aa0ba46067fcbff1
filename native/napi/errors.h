// Throwing the JS-defined QinferError subclasses from native code (registered by lib/binding.ts at load).
#pragma once

#include <napi.h>

#include <string>

#include "qinfer/status.h"

namespace qinfer::napi {

// Builds an instance of the JS class for `status` (falls back to a plain Error before registration).
Napi::Error make_error(Napi::Env env, qinfer_status status, const std::string &message);

// Runs fn, converting qinfer::Error and std::bad_alloc into the matching JS class.
template <typename Fn>
auto guarded(Napi::Env env, Fn &&fn) -> decltype(fn());

const char *status_code_name(qinfer_status status);

}  // namespace qinfer::napi

#include "errors-inl.h"
