// Opening a backend: the built-in CPU one, or a GPU module by dlopen, with a reason whenever it cannot be used.
#pragma once

#include <string>

#include "qinfer/backend.h"

namespace qinfer {

struct BackendModule {
  std::string name;
  const qinfer_backend *vtable = nullptr;  // null when unavailable
  std::string reason;                      // why it is unavailable
  bool available() const { return vtable != nullptr; }
};

// The CPU backend lives in the addon itself.
const qinfer_backend *cpu_backend();

// "cpu" opens the built-in backend (path unused); other names go through open_backend_module.
BackendModule open_backend(const std::string &name, const std::string &path);

// dlopen(path), check the registration symbol and ABI version, then init the driver. A module
// already opened in this process is returned from a cache (drivers are not re-initialized).
BackendModule open_backend_module(const std::string &name, const std::string &path);

}  // namespace qinfer
