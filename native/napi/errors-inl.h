// Template body of guarded(): native exceptions become JS errors at the N-API boundary.
#pragma once

#include <new>

#include "core/error.h"

namespace qinfer::napi {

template <typename Fn>
auto guarded(Napi::Env env, Fn &&fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const ::qinfer::Error &e) {
    throw make_error(env, e.status(), e.what());
  } catch (const std::bad_alloc &) {
    throw make_error(env, QINFER_E_OUT_OF_MEMORY, "out of host memory");
  }
}

}  // namespace qinfer::napi
