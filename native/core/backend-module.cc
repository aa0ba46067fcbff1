// Every way a GPU module can fail to open becomes a reason string; nothing here may abort the process.
#include "backend-module.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <map>
#include <mutex>

namespace qinfer {
namespace {

BackendModule load(const std::string &name, const std::string &path) {
  BackendModule m;
  m.name = name;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    m.reason = "qinfer-" + name + " module was not built (" + path + " not found)";
    return m;
  }
  // RTLD_LOCAL keeps the module's statically linked runtime out of the global namespace.
  void *dl = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *e = dlerror();
    m.reason = "cannot load qinfer-" + name + " module: " + (e ? e : "unknown dlopen error");
    return m;
  }
  auto reg = reinterpret_cast<qinfer_backend_register_fn>(dlsym(dl, QINFER_BACKEND_REGISTER_SYMBOL));
  if (!reg) {
    m.reason = "qinfer-" + name + " module " + path + " does not export " + QINFER_BACKEND_REGISTER_SYMBOL;
    dlclose(dl);
    return m;
  }
  const qinfer_backend *vt = reg(QINFER_BACKEND_ABI_VERSION);
  if (!vt || vt->abi_version != QINFER_BACKEND_ABI_VERSION) {
    m.reason = "qinfer-" + name + " module was built for backend ABI " +
               (vt ? std::to_string(vt->abi_version) : std::string("(none)")) + " but this addon expects " +
               std::to_string(QINFER_BACKEND_ABI_VERSION) + "; rebuild qinfer";
    dlclose(dl);
    return m;
  }
  char reason[1024] = {0};
  if (vt->init(reason, sizeof reason) != 0) {
    m.reason = reason[0] ? reason : ("the " + name + " driver failed to initialize");
    // The module stays loaded: drivers do not always survive being unloaded after a failed init.
    return m;
  }
  m.vtable = vt;
  return m;
}

}  // namespace

BackendModule open_backend(const std::string &name, const std::string &path) {
  if (name != "cpu") return open_backend_module(name, path);
  BackendModule m;
  m.name = name;
  char reason[512] = {0};
  if (cpu_backend()->init(reason, sizeof reason) == 0) m.vtable = cpu_backend();
  else m.reason = reason;
  return m;
}

BackendModule open_backend_module(const std::string &name, const std::string &path) {
  static std::mutex mu;
  static std::map<std::string, BackendModule> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  BackendModule m = load(name, path);
  cache[path] = m;
  return m;
}

}  // namespace qinfer
