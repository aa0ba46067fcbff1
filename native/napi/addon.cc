// Addon entry point: runs every registered export function (see exports.h).
#include <vector>

#include "exports.h"

namespace qinfer::napi {
namespace {

std::vector<ExportFn> &registrars() {
  static std::vector<ExportFn> fns;
  return fns;
}

}  // namespace

ExportRegistrar::ExportRegistrar(ExportFn fn) { registrars().push_back(fn); }

void run_export_registrars(Napi::Env env, Napi::Object exports) {
  for (ExportFn fn : registrars()) fn(env, exports);
}

}  // namespace qinfer::napi

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  qinfer::napi::run_export_registrars(env, exports);
  return exports;
}

NODE_API_MODULE(qinfer, init)
